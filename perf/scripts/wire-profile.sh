#!/usr/bin/env bash
# Where the node's time goes on the wire, gateway included: samples the engine thread of `perf wire --quick --sweeps N` (the
# whole node over loopback UDP, its sweeps of 40 fills) with call stacks, and prints the methods by share of the samples taken
# under one frame: by default the sweep's matching loop (every fill's work: the book, the ledger, both sides' execution
# reports, the market data), or `ExchangeGateway::Run` (every message's processing). Most of the engine thread's samples are
# its idle polling (system calls): the ones under the frame are the processing, which hot-instructions.sh (the state machine
# alone, no gateway) cannot see. How the two store-forwarding stalls of the eighteenth session were found (perf/HISTORY.md).
#
#   perf/scripts/wire-profile.sh [REPO_DIR] [SECONDS] [FRAME]     (defaults: this checkout, 25 s of samples, 'LedgerPositions]::Match')
#
# Needs Linux perf (Debian: linux-perf) and python3, permission to sample another process (root, or
# kernel.perf_event_paranoid <= 1), and two cores (`perf wire` spins a client and the node). It builds nothing: build
# perf/Aivora.Perf in Release first. About a minute.
set -euo pipefail
for tool in perf python3; do
  if ! command -v "$tool" >/dev/null; then
    echo "wire-profile: needs $tool (Debian: linux-perf, python3)" >&2
    exit 2
  fi
done

dir=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
seconds=${2:-25}
frame=${3:-'LedgerPositions]::Match'}
dll=$dir/perf/Aivora.Perf/bin/Release/net10.0/Aivora.Perf.dll
if [ ! -f "$dll" ]; then
  echo "wire-profile: $dll not found (dotnet build $dir/perf/Aivora.Perf -c Release)" >&2
  exit 2
fi

work=$(mktemp -d)
pid=""
trap 'if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; rm -f "/tmp/perf-$pid.map"; fi; rm -rf "$work"' EXIT
# The JIT profile in place as `perf wire` runs it; the perf map names the JIT-compiled methods; with W^X off the code runs
# from the addresses the map gives (not from a second mapping perf cannot name).
env DOTNET_ReadPGOData=1 "DOTNET_PGODataPath=${dll%.dll}.jit-profile.txt" DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 \
  dotnet "$dll" wire --quick --sweeps 20000 >"$work/out.txt" 2>&1 &
pid=$!
sleep 8   # the ping-pong and the one-fill sweeps; the 40-fill sweeps run for ~35 s after them
if ! kill -0 "$pid" 2>/dev/null; then
  echo "wire-profile: perf wire exited early: $(tail -3 "$work/out.txt")" >&2
  exit 1
fi

# Frame pointers: the JIT keeps rbp frames, so perf walks the managed stacks.
perf record -g -F 8000 -p "$pid" -o "$work/perf.data" -- sleep "$seconds" >/dev/null 2>&1
perf script -i "$work/perf.data" --comm engine -F ip,sym 2>/dev/null >"$work/stacks.txt"

python3 - "$work/stacks.txt" "$frame" <<'PY'
import collections, re, sys
path, frame = sys.argv[1], sys.argv[2]

def short(line):
    s = line.strip().split(" ", 1)[-1]
    m = re.search(r"\] ([\w.`\[\],<>+]+?)::(\w+)\(", s)
    return f"{m.group(1).split('.')[-1]}::{m.group(2)}" if m else s[:60]

samples, current = [], []
for line in open(path):
    if line.strip():
        current.append(short(line))
    elif current:
        samples.append(current)
        current = []
if current:
    samples.append(current)

under = [s for s in samples if any(frame in f for f in s)]
if not under:
    sys.exit(f"wire-profile: none of {len(samples)} engine-thread samples has a frame matching '{frame}'")
inclusive, self_time = collections.Counter(), collections.Counter(s[0] for s in under)
for s in under:
    seen = set()
    for f in s:   # leaf first: stop at the frame, so its callers are not counted
        if f not in seen:
            seen.add(f)
            inclusive[f] += 1
        if frame in f:
            break
n = len(under)
print(f"# {len(samples)} engine-thread samples, {n} under '{frame}' ({100 * n / len(samples):.1f} %); shares of those {n}")
print("# inclusive (the method and what it calls)")
for f, c in inclusive.most_common(30):
    print(f"{100 * c / n:6.1f} %  {f}")
print("# self")
for f, c in self_time.most_common(25):
    print(f"{100 * c / n:6.1f} %  {f}")
PY
wait "$pid" || true
rm -f "/tmp/perf-$pid.map"
pid=""
grep -E "case=sweep" "$work/out.txt" || true
