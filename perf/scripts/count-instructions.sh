#!/usr/bin/env bash
# Instructions per command of the state machine on the node flow, counted by valgrind: steadier than timings on a
# shared machine (10-30 % between runs), but not exact: two runs of one build read 6,914 and 6,411 on 2026-12-01, so a
# difference under ~8 % needs several runs of each build before it means anything.
#
#   perf/scripts/count-instructions.sh [REPO_DIR]     (N=50000 by default: the flow's length)
#
# It builds nothing: build perf/Aivora.Perf in Release first (in REPO_DIR, default: this checkout). Four runs of
# `perf node --commands N|2N --profile-replays 1|3`; the difference of differences cancels start-up, JIT and machine
# construction: ((I(2N,3) - I(2N,1)) - (I(N,3) - I(N,1))) / 2N. Tiered compilation and ReadyToRun are off, so every
# run compiles the same code the same way (no timing-driven tiering; the recorded JIT profile, as the node itself runs;
# ReadyToRun off too, unlike the node: counts compare between commits, not with production cycles; under valgrind's
# CPU some small methods are not inlined, which inflates arithmetic; a callgrind profile shows even methods marked
# AggressiveInlining as calls). So it cannot see a change of inlining or code layout: time those, alternating the two
# builds pinned to one core in its fast phase (taskset -c N; see perf/README.md). About a minute.
set -euo pipefail
if ! command -v valgrind >/dev/null; then
  echo "count-instructions: needs valgrind (Debian: apt-get install valgrind)" >&2
  exit 2
fi

dir=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
dll=$dir/perf/Aivora.Perf/bin/Release/net10.0/Aivora.Perf.dll
if [ ! -f "$dll" ]; then
  echo "count-instructions: $dll not found (dotnet build $dir/perf/Aivora.Perf -c Release)" >&2
  exit 2
fi

# The process that runs the flow must be the one measured: with the profile's variables set it compiles with the JIT profile
# in place (as perf node does), instead of starting itself again with them (core/Aivora.Node/Engine/JitProfile.cs).
profile=(env DOTNET_ReadPGOData=1 "DOTNET_PGODataPath=${dll%.dll}.jit-profile.txt")
n=${N:-50000}
run() {
  DOTNET_TieredCompilation=0 DOTNET_ReadyToRun=0 "${profile[@]}" valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \
    dotnet "$dll" node --commands "$1" --profile-replays "$2" 2>&1 | grep -oP "I\s+refs:\s+\K[0-9,]+" | tr -d ,
}

a=$(run "$n" 1); b=$(run "$n" 3); c=$(run $((2 * n)) 1); d=$(run $((2 * n)) 3)
echo "RESULT bench=node case=instructions commands=$n instructions_per_command=$(( ((d - c) - (b - a)) / (2 * n) ))"
