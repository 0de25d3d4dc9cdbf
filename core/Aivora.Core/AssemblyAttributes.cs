// Locals start uninitialised: C#'s definite assignment already keeps code from reading a local before writing it, and the
// JIT otherwise zeroes every struct local of a large hot frame in its prolog (the state machine's order entry holds the
// commands, events and positions it builds there) on every call. Only stackalloc is affected: none here reads before it writes.
[module: System.Runtime.CompilerServices.SkipLocalsInit]
