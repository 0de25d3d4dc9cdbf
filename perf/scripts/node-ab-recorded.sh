#!/usr/bin/env bash
# This checkout against an earlier commit with `perf node-ab`, each build's JIT profile recorded afresh for every comparison,
# several times over: one recording alone moves node-ab by up to ~5 % on the node flow and ~2 % on order entry with no change
# to the code (README, node-ab). Each round records both builds' profiles (perf/scripts/record-jit-profile.sh in each
# checkout), builds both, and runs node-ab; the answer is the median of the rounds' medians, printed with every round's.
#
#   perf/scripts/node-ab-recorded.sh BASE_REV [ROUNDS] [PAIRS] [FLOW] [METRIC] [COMMANDS]
#       (defaults: 3 rounds, 60 pairs, the node flow, throughput, node-ab's 200,000 commands)
#
# FLOW is node-ab's: node, order-entry or book:NAME; METRIC throughput, or p999 with a book:NAME flow (node-ab's --metric:
# the ratio of the two builds' p99.9); COMMANDS node-ab's --commands (a p99.9 wants 1000000: its slowest thousand).
# BASE_REV is a commit (a worktree of it is made in a temporary directory and removed at the end). This checkout's two
# profile files are put back as they were when it ends. About four minutes a round (two recordings, two builds, the pairs),
# pinned to core 1 where there are two cores. Needs the .NET SDK, git and awk.
set -euo pipefail
usage="usage: node-ab-recorded.sh BASE_REV [ROUNDS 1-9] [PAIRS 2-1000] [FLOW node|order-entry|book:NAME] [METRIC throughput|p999] [COMMANDS 1000-10000000]"
if [ $# -lt 1 ] || [ $# -gt 6 ]; then
  echo "node-ab-recorded: $usage" >&2
  exit 2
fi

base_rev=$1
rounds=${2:-3}
pairs=${3:-60}
flow=${4:-node}
metric=${5:-throughput}
commands=${6:-200000}
if ! [[ "$rounds" =~ ^[1-9]$ ]]; then
  echo "node-ab-recorded: ROUNDS is 1 to 9, not '$rounds'" >&2
  exit 2
fi
if ! [[ "$pairs" =~ ^[0-9]{1,4}$ ]] || [ "$pairs" -lt 2 ] || [ "$pairs" -gt 1000 ]; then
  echo "node-ab-recorded: PAIRS is 2 to 1000, not '$pairs'" >&2
  exit 2
fi
case "$flow" in
  node|order-entry|book:?*) ;;
  *) echo "node-ab-recorded: FLOW is node, order-entry or book:NAME, not '$flow'" >&2; exit 2 ;;
esac
case "$metric" in
  throughput) ;;
  p999) if [[ "$flow" != book:?* ]]; then echo "node-ab-recorded: METRIC p999 needs a book:NAME flow, not '$flow'" >&2; exit 2; fi ;;
  *) echo "node-ab-recorded: METRIC is throughput or p999, not '$metric'" >&2; exit 2 ;;
esac
if ! [[ "$commands" =~ ^[1-9][0-9]{3,7}$ ]] || [ "$commands" -gt 10000000 ]; then
  echo "node-ab-recorded: COMMANDS is a whole number from 1000 to 10000000, not '$commands'" >&2
  exit 2
fi

dir=$(cd "$(dirname "$0")/../.." && pwd)
if ! git -C "$dir" rev-parse --verify --quiet "$base_rev^{commit}" >/dev/null; then
  echo "node-ab-recorded: '$base_rev' is not a commit of $dir" >&2
  exit 2
fi

work=$(mktemp -d)
base=$work/base
profiles=(core/Aivora.Node/jit-profile.txt perf/Aivora.Perf/jit-profile.txt)
for p in "${profiles[@]}"; do
  mkdir -p "$work/saved/$(dirname "$p")"
  cp "$dir/$p" "$work/saved/$p"
done
cleanup() {
  for p in "${profiles[@]}"; do
    cp "$work/saved/$p" "$dir/$p"
  done
  git -C "$dir" worktree remove --force "$base" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

git -C "$dir" worktree add --detach "$base" "$base_rev" >/dev/null 2>&1
pin=()
if [ "$(nproc)" -ge 2 ]; then
  pin=(taskset -c 1)
fi

build() {   # the checkout; its harness compiles with the profile just recorded (the build copies it beside the DLL)
  if ! dotnet build "$1/perf/Aivora.Perf/Aivora.Perf.csproj" -c Release -nologo >"$work/build.log" 2>&1; then
    grep -E "error" "$work/build.log" >&2 || tail -20 "$work/build.log" >&2
    echo "node-ab-recorded: the build of $1 failed" >&2
    exit 1
  fi
}

medians=()
for ((r = 1; r <= rounds; r++)); do
  "$base/perf/scripts/record-jit-profile.sh" "$base" >/dev/null
  "$dir/perf/scripts/record-jit-profile.sh" "$dir" >/dev/null
  build "$base"
  build "$dir"
  line=$("${pin[@]}" dotnet "$dir/perf/Aivora.Perf/bin/Release/net10.0/Aivora.Perf.dll" node-ab \
    --against "$base/perf/Aivora.Perf/bin/Release/net10.0/Aivora.Perf.dll" --pairs "$pairs" --flow "$flow" --metric "$metric" \
    --commands "$commands" 2>&1 | grep '^RESULT bench=node-ab ' || true)
  if [ -z "$line" ]; then
    echo "node-ab-recorded: round $r: node-ab printed no RESULT line" >&2
    exit 1
  fi
  echo "# round $r: $line"
  medians+=("$(sed -E 's/.* ratio_median=([0-9.]+).*/\1/' <<<"$line")")
done

# Both builds again with the profiles this checkout had (its own, put back), so its binaries match its files.
for p in "${profiles[@]}"; do
  cp "$work/saved/$p" "$dir/$p"
done
build "$dir"

sorted=$(printf '%s\n' "${medians[@]}" | sort -n | tr '\n' ' ')
median=$(printf '%s\n' "${medians[@]}" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
echo "RESULT bench=node-ab-recorded flow=$flow metric=$metric commands=$commands base=$(git -C "$dir" rev-parse --short "$base_rev") rounds=$rounds pairs=$pairs ratio_medians=$(tr ' ' ',' <<<"${sorted% }") ratio_median=$median"
