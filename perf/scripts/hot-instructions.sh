#!/usr/bin/env bash
# Where the state machine's time goes, instruction by instruction: samples `perf node` with Linux perf, reads the JIT-compiled
# code of the hottest methods out of the live process, and prints each method's share and its hottest instructions with the
# code around them. A method's share says what to look at; an instruction that takes a large share alone is usually a load that
# misses cache (the sample lands on it or just after it), which instruction counts (count-instructions.sh) cannot see: this is
# how the id tables' misses on order entry (11 % of the node flow's samples) were found.
#
#   perf/scripts/hot-instructions.sh [REPO_DIR] [SECONDS] [FLOW] [LISTINGS_DIR]     (defaults: this checkout, 8 s of samples, node)
#
# LISTINGS_DIR (optional, created if missing): each of the six hottest methods' whole code is also written there, every
# instruction with its share of the samples, to NAME.txt, and the method's shares by 256-byte region are printed under it:
# where a flat method's time gathers.
#
# FLOW: node (the state machine on the node's flow: `perf node --profile-replays`), order-entry (the full pre-trade gate on
# `perf risk`'s order-entry flow: `perf risk --case order-entry --profile-replays`) or book:NAME (the book alone on a built-in
# shape, e.g. book:deep-sweep: `perf book --workload NAME --profile-replays`).
#
# Needs Linux perf (Debian: linux-perf), objdump (binutils) and python3, and permission to sample another process (root, or
# kernel.perf_event_paranoid <= 1). It builds nothing: build perf/Aivora.Perf in Release first. About 40 s.
set -euo pipefail
for tool in perf objdump python3; do
  if ! command -v "$tool" >/dev/null; then
    echo "hot-instructions: needs $tool (Debian: linux-perf, binutils, python3)" >&2
    exit 2
  fi
done

if [ $# -gt 4 ]; then
  echo "hot-instructions: at most four arguments (REPO_DIR SECONDS FLOW LISTINGS_DIR), not $#" >&2
  exit 2
fi
dir=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
seconds=${2:-8}
if ! [[ "$seconds" =~ ^[1-9][0-9]{0,3}$ ]]; then
  echo "hot-instructions: SECONDS is a whole number of seconds from 1 to 9999, not '$seconds'" >&2
  exit 2
fi
flow=${3:-node}
listings=${4:-}
if [ -n "$listings" ]; then
  mkdir -p "$listings"
  listings=$(cd "$listings" && pwd)
fi
case "$flow" in
  node) load=(node --quick --profile-replays 1000) ;;
  book:?*) load=(book --workload "${flow#book:}" --ops 1000000 --profile-replays 1000) ;;
  order-entry) load=(risk --case order-entry --quick --profile-replays 1000) ;;
  *) echo "hot-instructions: FLOW is node, order-entry or book:NAME (dense, sparse-wide, deep-sweep, far-prices, drifted), not '$flow'" >&2; exit 2 ;;
esac
dll=$dir/perf/Aivora.Perf/bin/Release/net10.0/Aivora.Perf.dll
if [ ! -f "$dll" ]; then
  echo "hot-instructions: $dll not found (dotnet build $dir/perf/Aivora.Perf -c Release)" >&2
  exit 2
fi

# The process that runs the flow must be the one measured: with the profile's variables set it compiles with the JIT profile
# in place (as perf node does), instead of starting itself again with them (core/Aivora.Node/Engine/JitProfile.cs).
profile=(env DOTNET_ReadPGOData=1 "DOTNET_PGODataPath=${dll%.dll}.jit-profile.txt")
work=$(mktemp -d)
pid=""
trap 'if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; rm -f "/tmp/perf-$pid.map"; fi; rm -rf "$work"' EXIT
# Replays only (no timers), long enough to outlast the warm-up and the sampling; the perf map names the JIT-compiled methods.
"${profile[@]}" DOTNET_PerfMapEnabled=3 dotnet "$dll" "${load[@]}" >/dev/null 2>"$work/stderr.txt" &
pid=$!
sleep 15   # recording or generating the flow and the warm-up replay (the harness runs without tiering: code is final when first compiled)
if ! kill -0 "$pid" 2>/dev/null; then
  echo "hot-instructions: perf ${load[*]} exited early: $(cat "$work/stderr.txt")" >&2
  exit 1
fi

perf record -F 4000 -p "$pid" -o "$work/perf.data" -- sleep "$seconds" >/dev/null 2>&1
perf script -i "$work/perf.data" -F ip 2>/dev/null >"$work/ips.txt"
cp "/tmp/perf-$pid.map" "$work/perf.map"

python3 - "$pid" "$work" "$listings" <<'PY'
import bisect, collections, re, subprocess, sys
pid, work, listings = sys.argv[1], sys.argv[2], sys.argv[3]
methods = []
for line in open(f"{work}/perf.map"):
    parts = line.rstrip("\n").split(" ", 2)
    if len(parts) == 3:
        methods.append((int(parts[0], 16), int(parts[1], 16), parts[2]))
methods.sort()
starts = [m[0] for m in methods]
total = 0
by_method = collections.Counter()
by_instruction = collections.Counter()
for line in open(f"{work}/ips.txt"):
    ip = int(line.strip(), 16)
    total += 1
    k = bisect.bisect_right(starts, ip) - 1
    if k >= 0 and methods[k][0] <= ip < methods[k][0] + methods[k][1]:
        by_method[k] += 1
        by_instruction[(k, ip - methods[k][0])] += 1
if total == 0:
    sys.exit("hot-instructions: no samples (is perf allowed to sample other processes?)")

def short(name):
    name = re.sub(r"\(.*", "", name)
    name = re.sub(r"\[[A-Za-z.]+\] |instance |valuetype |class ", "", name)
    return re.sub(r"Aivora\.[A-Za-z]+\.[A-Za-z]+\.", "", name.split(" ")[-1])

print(f"# {total} samples; JIT-compiled methods by share of all samples (self time)")
top = by_method.most_common(12)
for k, n in top:
    print(f"{100 * n / total:6.2f} %  {short(methods[k][2])}")

def column(k, offset):
    """An instruction's share of all samples, as the listing's first column (blank when no sample landed on it)."""
    share = by_instruction.get((k, offset), 0)
    return f"{100 * share / total:5.2f}" if share else "     "

mem = open(f"/proc/{pid}/mem", "rb")
for k, n in top[:6]:
    start, size, name = methods[k]
    mem.seek(start)
    path = f"{work}/code.bin"
    open(path, "wb").write(mem.read(size))
    listing = subprocess.run(["objdump", "-D", "-b", "binary", "-mi386:x86-64", path], capture_output=True, text=True).stdout
    lines = [l for l in listing.splitlines() if re.match(r"\s*[0-9a-f]+:\s", l)]
    offsets = [int(l.split(":")[0], 16) for l in lines]
    hottest = sorted(((c, off) for (m, off), c in by_instruction.items() if m == k), reverse=True)[:3]
    print(f"\n## {short(name)}: {100 * n / total:.2f} %; hottest instructions (share of all samples) with the code before them")
    if listings:
        # The whole method, every instruction with its share; then the shares by 256-byte region of the code.
        path = f"{listings}/{re.sub(r'[^A-Za-z0-9_.-]+', '_', short(name))}.txt"
        regions = collections.Counter()
        with open(path, "w") as out:
            for l, o in zip(lines, offsets):
                regions[o // 256] += by_instruction.get((k, o), 0)
                out.write(f"{column(k, o)} {l.strip()}\n")
        print(f"  whole code: {path}; by 256-byte region: " + ", ".join(
            f"+0x{r * 256:x} {100 * c / total:.2f} %" for r, c in sorted(regions.items()) if 100 * c / total >= 0.1))
    for c, off in hottest:
        i = bisect.bisect_left(offsets, off)
        print(f"  +0x{off:x}: {100 * c / total:.2f} %")
        for l, o in zip(lines[max(0, i - 6): i + 2], offsets[max(0, i - 6): i + 2]):
            print(f"    {column(k, o)} {l.strip()[:100]}")
PY
