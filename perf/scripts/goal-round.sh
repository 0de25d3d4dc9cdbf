#!/usr/bin/env bash
# One round of issue 10's goals, as the README's "Where the goals stand" table is taken: every `--quick` harness, the engine's
# pinned to one core, then four more order-entry runs alternating the cores, each core's stalls (`stalls --quick`) probed
# before and after them and the engine core's before `book`, `risk` and `node`; then a digest, a GOAL line per goal with its
# figure beside the baseline measured in the same run and whether the goal's bar is met in this round, and a SUMMARY line.
#
#   perf/scripts/goal-round.sh [CORE] [OUT_DIR]     (defaults: core 1, a new temporary directory)
#   perf/scripts/goal-round.sh --digest OUT_DIR     the digest of a round already run into OUT_DIR, printed again
#
# CORE: the core `book`, `ladder`, `codec`, `risk`, `node` and `cascade` are pinned to (`transport`, `transport-throughput`
# and `wire` pin their own processes). OUT_DIR gets each harness's whole output (NAME.txt, with its elapsed seconds last),
# the cascade's PNG and the digest (digest.txt); the digest is printed too. It builds perf/Aivora.Perf in Release first.
# About 4 minutes on this 2-core VM (3 min 34 s on 2026-12-04). Needs the .NET SDK, taskset (util-linux) and awk. Exits 1
# when a harness exited non-zero (its output says why), 0 otherwise, whichever goals are met.
#
# This VM's host slows one vCPU at a time for minutes (the book alone has read 58-132 ns an order on order entry in
# different rounds), so the digest starts with that figure: a round's absolute figures say as much about the phase as
# about the code; the ratios, each taken within one run, say less about the phase.
set -euo pipefail
digest_only=false
if [ "${1:-}" = "--digest" ]; then
  if [ $# -ne 2 ] || [ ! -f "$2/risk.txt" ]; then
    echo "goal-round: --digest takes the OUT_DIR of a round run before (with its risk.txt)" >&2
    exit 2
  fi
  digest_only=true
  shift
  set -- "$(cat "$1/core" 2>/dev/null || echo 1)" "$1"
fi
if [ $# -gt 2 ]; then
  echo "goal-round: at most two arguments (CORE OUT_DIR), not $#" >&2
  exit 2
fi
cores=$(nproc)
core=${1:-$((cores > 1 ? 1 : 0))}
if ! [[ "$core" =~ ^[0-9]{1,3}$ ]] || [ "$core" -ge "$cores" ]; then
  echo "goal-round: CORE is a core of this machine, 0 to $((cores - 1)), not '$core'" >&2
  exit 2
fi
out=${2:-$(mktemp -d /tmp/goal-round.XXXXXX)}
mkdir -p "$out"
out=$(cd "$out" && pwd)
for tool in dotnet taskset awk; do
  if ! command -v "$tool" >/dev/null; then
    echo "goal-round: needs $tool" >&2
    exit 2
  fi
done

repo=$(cd "$(dirname "$0")/../.." && pwd)
other=$(( cores > 1 ? (core == 0 ? 1 : 0) : core ))   # the extra order-entry runs alternate with it

# The round itself: each harness's output to OUT_DIR.
run_round() {
  echo "$core" >"$out/core"
  git -C "$repo" rev-parse --short HEAD >"$out/commit"
  git -C "$repo" diff --quiet HEAD -- . 2>/dev/null || echo "(uncommitted changes)" >>"$out/commit"
  dotnet build "$repo/perf/Aivora.Perf" -c Release -v quiet -nologo >"$out/build.txt" 2>&1 || { cat "$out/build.txt" >&2; exit 1; }
  dll=$repo/perf/Aivora.Perf/bin/Release/net10.0/Aivora.Perf.dll

  # run NAME PIN-CORE(-1: not pinned) ARGS...: the harness's output to NAME.txt, its elapsed seconds as the last line.
  run() {
    local name=$1 pin=$2
    shift 2
    local start end
    start=$(date +%s.%N)
    if [ "$pin" -ge 0 ]; then
      taskset -c "$pin" dotnet "$dll" "$@" >"$out/$name.txt" 2>&1 || echo "# exit code $?" >>"$out/$name.txt"
    else
      dotnet "$dll" "$@" >"$out/$name.txt" 2>&1 || echo "# exit code $?" >>"$out/$name.txt"
    fi
    end=$(date +%s.%N)
    awk -v s="$start" -v e="$end" 'BEGIN { printf "# elapsed_s=%.1f\n", e - s }' >>"$out/$name.txt"
    echo "goal-round: $name done ($(tail -1 "$out/$name.txt" | cut -d= -f2) s)" >&2
  }

  run stalls-start -1 stalls --quick   # each core's stalls (it pins its own probe to each in turn), before and after the rest
  for h in book ladder codec risk node; do
    # The engine core's pace just before each of the harnesses a slow phase moves most (a spell can fall between the
    # round's start and end: 2026-12-04's fifth round).
    case $h in book|risk|node) run "stalls-before-$h" -1 stalls --quick --cpu "$core" ;; esac
    run "$h" "$core" "$h" --quick
  done
  run cascade "$core" cascade --png "$out/cascade.png"
  for h in transport transport-throughput wire; do
    run "$h" -1 "$h" --quick
  done
  extra=0
  for k in "$other" "$core" "$other" "$core"; do
    extra=$((extra + 1))
    run "extra-$extra-core-$k" "$k" risk --quick --case order-entry
  done
  run stalls-end -1 stalls --quick
}

$digest_only || run_round

# The digest. v FILE SELECTOR KEY: KEY's value on the first RESULT line of FILE that contains every word of SELECTOR.
v() {
  awk -v sel="$2" -v key="$3" '
    BEGIN { n = split(sel, want, " ") }
    /^RESULT / {
      # A word ending in "=" names a field whatever its value; any other word must be a whole field.
      for (i = 1; i <= n; i++) if (index(" " $0 " ", " " want[i] (want[i] ~ /=$/ ? "" : " ")) == 0) next
      for (f = 1; f <= NF; f++) if (index($f, key "=") == 1) { print substr($f, length(key) + 2); exit }
    }' "$out/$1.txt"
}
elapsed() { tail -1 "$out/$1.txt" | cut -d= -f2; }
holds() { awk "BEGIN { exit !($1) }"; }
# verdict EXPR [FIGURE...]: met when EXPR holds; NOT met when it does not, or when any FIGURE it reads is missing (empty).
verdict() {
  local expr=$1 figure
  shift
  for figure in "$@"; do [ -n "$figure" ] || { echo "NOT met"; return; }; done
  if holds "$expr"; then echo met; else echo "NOT met"; fi
}
or_missing() { [ -n "$1" ] && echo "$1" || echo missing; }

{
  echo "# goal round: $(date -u -r "$out/risk.txt" '+%Y-%m-%d %H:%M UTC'), $(tr '\n' ' ' <"$out/commit" 2>/dev/null | sed 's/ $//' || echo 'commit unknown'); engine harnesses on core $core; outputs in $out"
  book_alone=$(v risk "case=order-entry-book-only" ns_per_op)
  echo "PHASE the book alone on risk's order entry: $(or_missing "$book_alone") ns an order (58-132 ns in earlier rounds of this VM)"
  # Each core's stalls (perf stalls: a pinned thread reading the clock; a gap over 2 us is time it did not run), at the
  # round's start and end: the floor under every p99 and p99.9 below (1,300-2,100 a second here on 2026-12-04), and the
  # loop's pace between them (ns a clock read: a vCPU slowed without stopping reads slower there, whatever our code does;
  # 29.5-31 ns here when the book alone read 97-123 ns an order, 27-28 when it read 75-85), and the part of the stolen time the
  # probe waited while another task of this machine had the core (the rest is the host's: 0.00-0.10 % waited most times).
  stalls_of() {
    [ -f "$out/$1.txt" ] || { echo missing; return; }
    awk '/^RESULT bench=stalls / {
        for (f = 1; f <= NF; f++) { split($f, kv, "="); v[kv[1]] = kv[2] }
        printf "%score %s %s a second (%s over 10 us), %s %% of its time (%s %% waiting for this machine'"'"'s other tasks), the longest %s us, %s ns a clock read between them", sep, v["cpu"], v["stalls_per_sec"], v["long_stalls_per_sec"], v["stolen_pct"], ("waited_pct" in v ? v["waited_pct"] : "missing"), v["longest_us"], ("ns_per_read" in v ? v["ns_per_read"] : "missing")
        sep = "; "
      }' "$out/$1.txt"
  }
  echo "PHASE the cores' stalls at the round's start: $(stalls_of stalls-start); at its end: $(stalls_of stalls-end)"
  pace=""
  for h in book risk node; do
    figure=""
    [ -f "$out/stalls-before-$h.txt" ] && figure=$(v "stalls-before-$h" "bench=stalls" ns_per_read)
    pace="$pace $h $(or_missing "$figure"),"
  done
  echo "PHASE core $core's pace just before:${pace%,} ns a clock read (26.9-28.1 here when the book alone read 75-85 ns an order, 29.5-31.0 when it read 97-123)"

  eng=$(v book "impl=engine workload=sparse-wide" ops_per_sec)
  ref=$(v book "impl=reference workload=sparse-wide" ops_per_sec)
  if [ -n "$eng" ] && [ -n "$ref" ]; then
    ratio=$(awk -v a="$eng" -v b="$ref" 'BEGIN { printf "%.1f", a / b }')
    echo "GOAL book at 2x the exchange core's throughput (sparse-wide): engine $(awk -v a="$eng" 'BEGIN { printf "%.2f", a / 1e6 }') M ops/s, the reference book $(awk -v a="$ref" 'BEGIN { printf "%.3f", a / 1e6 }') M in the same run: ${ratio}x: $(verdict "$ratio >= 2")"
  else
    echo "GOAL book at 2x the exchange core's throughput: a RESULT line is missing (see $out/book.txt): NOT met"
  fi

  carried400=$(v ladder "case=window-move levels=400" most_carried_by_one_op)
  carried4000=$(v ladder "case=window-move levels=4000" most_carried_by_one_op)
  scaling=$(v ladder "case=window-move-scaling" ratio_most_carried_4000_over_400)
  echo "GOAL no operation whose cost grows with the levels: most levels one operation carried at 400 and 4,000 levels $(or_missing "$carried400") and $(or_missing "$carried4000"), ratio $(or_missing "$scaling"): $(verdict "$scaling <= 1.0" "$scaling")"

  worst=0
  line=""
  for w in dense sparse-wide drifted far-prices deep-sweep; do
    p=$(v book "impl=engine workload=$w" p999_ns)
    if [ -z "$p" ]; then
      line="$line $w missing,"
      worst=999999   # a shape without its line is not met
    else
      line="$line $w $p ns,"
      [ "$p" -gt "$worst" ] && worst=$p
    fi
  done
  fills=$(v book "impl=engine workload=deep-sweep" p999_fills)
  floor=$(v book "case=timing-floor" p999_ns)
  # Beside the goal's figure, not instead of it: each operation's lesser timing of two replays, the host's stalls mostly out.
  lesser=""
  for w in dense sparse-wide drifted far-prices deep-sweep; do
    lesser="$lesser $w $(or_missing "$(v book "impl=engine workload=$w" p999_lesser_of_two_ns)"),"
  done
  echo "GOAL p99.9 under 1 us on every shape:${line%,} (deep-sweep's slowest: $(or_missing "$fills") fills); the timing floor's p99.9 $(or_missing "$floor") ns; of each operation's lesser timing of two replays:${lesser%,} ns: $(verdict "$worst < 1000")"

  median=$(v risk "case=order-entry-pairs" ratio_total_over_book_median)
  extras=""
  runs=0
  within=0
  # The round's own run first, then the four more: a run without its RESULT line is not counted (the goal then reads NOT met).
  # Each run's pairs come after its rounds, so beside each median: the book alone's own median over those pairs' passes (a
  # slow spell that fell on the pairs alone shows there against the round's book alone).
  for name in risk $(for k in 1 2 3 4; do f=$(ls "$out"/extra-$k-core-*.txt 2>/dev/null || true); [ -n "$f" ] && basename "$f" .txt; done); do
    m=$(v "$name" "case=order-entry-pairs" ratio_total_over_book_median)
    [ -z "$m" ] && continue
    b=$(v "$name" "case=order-entry-pairs" book_ns_median)
    if [ "$name" = risk ]; then
      pairs_book=$b
    else
      extras="$extras $m${b:+ (book $b ns)}"
    fi
    runs=$((runs + 1))
    holds "$m <= 2.0" && within=$((within + 1))
  done
  echo "GOAL the state machine within 2x the book per order: adjacent pairs' median $(or_missing "$median") (quartiles $(or_missing "$(v risk "case=order-entry-pairs" ratio_p25)")-$(or_missing "$(v risk "case=order-entry-pairs" ratio_p75)"); the book alone $(or_missing "$book_alone") ns, $(or_missing "${pairs_book:-}") ns over the pairs' own passes, the whole $(or_missing "$(v risk "case=order-entry-with-risk" ns_per_op)") ns); four more runs, cores $other/$core alternating:$extras; at or under 2.0 in $within of $runs runs: $( [ "$runs" -eq 5 ] && verdict "$within == $runs" || echo 'NOT met (a run is missing)')"

  cps=$(v node "bench=node commands_per_sec=" commands_per_sec)
  book_only=$(v node "bench=node commands_per_sec=" book_only_ops_per_sec)
  echo "GOAL the node's flow at 3 M commands/s on one core: $( [ -n "$cps" ] && awk -v a="$cps" 'BEGIN { printf "%.2f M", a / 1e6 }' || echo missing); the book alone on its order commands $( [ -n "$book_only" ] && awk -v a="$book_only" 'BEGIN { printf "%.2f M ops/s", a / 1e6 }' || echo missing) (cost_over_book $(or_missing "$(v node "bench=node commands_per_sec=" cost_over_book)")): $(verdict "$cps >= 3000000" "$cps")"

  rest=$(v risk "case=order-entry-resting-scaling" ratio_10k_over_10)
  echo "GOAL order entry the same at 10 and 10,000 resting orders: 10,000 over 10 $(or_missing "$rest") (the book alone $(or_missing "$(v risk "case=order-entry-resting-scaling" book_ratio_10k_over_10)"), the gate's excess $(or_missing "$(v risk "case=order-entry-resting-scaling" gate_excess_ratio_10k_over_10)")); read as the same within 10 %: $(verdict "$rest <= 1.10" "$rest")"

  r50=$(v transport "ratio_p50=" ratio_p50)
  r99=$(v transport "ratio_p50=" ratio_p99)
  # Beside the ratios, each side's share of round trips over twice the floor's p50: where both are near 1 % (this VM's host
  # interrupting ~1 % of them in some spells), a p99 falls in the slow mode or not by a few tenths of a percent, and the p99
  # ratio flips between ~1 and ~2.6 (2026-12-05); the shares say whether ours are slowed more often than the floor's.
  share() { awk -v s="$1" 'BEGIN { if (s == "") print "missing"; else printf "%.2f %%", s * 100 }'; }
  echo "GOAL transport ping-pong within 1.2x (p50) and 1.4x (p99) of raw UDP: p50 $(or_missing "$(v transport "impl=aivora" p50_ns)") against $(or_missing "$(v transport "impl=raw-udp" p50_ns)") ns, p99 $(or_missing "$(v transport "impl=aivora" p99_ns)") against $(or_missing "$(v transport "impl=raw-udp" p99_ns)"): ratio_p50 $(or_missing "$r50"), ratio_p99 $(or_missing "$r99") (round trips over twice the floor's p50: ours $(share "$(v transport "ratio_p50=" over_2x_floor_p50_aivora)"), raw UDP's $(share "$(v transport "ratio_p50=" over_2x_floor_p50_raw)")): $(verdict "$r50 <= 1.2 && $r99 <= 1.4" "$r50" "$r99")"

  allocs=$(grep -h '^RESULT' "$out/book.txt" "$out/risk.txt" | grep -v 'impl=reference' | grep -o 'alloc_bytes_per_op=[^ ]*' || true)
  lines=$(grep -c . <<<"$allocs" || true)
  allocating=$(grep -v -c '=0$' <<<"$allocs" || true)
  echo "GOAL nothing allocates after warm-up: $lines engine lines of book and risk carry alloc_bytes_per_op, $allocating of them not 0: $(verdict "$lines > 0 && $allocating == 0")"

  slowest=0
  line=""
  for h in book ladder codec risk node transport transport-throughput wire; do
    e=$(elapsed "$h")
    line="$line $h $e s,"
    slowest=$(awk -v a="$slowest" -v b="$e" 'BEGIN { print (b > a ? b : a) }')
  done
  echo "GOAL every --quick within a minute:${line%,} (cascade has no --quick: $(elapsed cascade) s): $(verdict "$slowest <= 60")"
  failed=$( (grep -l '^# exit code' "$out"/*.txt 2>/dev/null || true) | xargs -r -n1 basename | tr '\n' ' ')
  [ -n "$failed" ] && echo "# harnesses that exited non-zero: $failed"
  true
} | tee "$out/digest.txt"
echo "SUMMARY $(grep -c '^GOAL .*: met$' "$out/digest.txt") of $(grep -c '^GOAL ' "$out/digest.txt") goals met in this round" | tee -a "$out/digest.txt"
# A harness that failed makes a broken round, not a measured one: exit 1 (a goal not met is a figure, exit 0).
! grep -q '^# harnesses that exited non-zero' "$out/digest.txt"
