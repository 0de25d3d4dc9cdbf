#!/usr/bin/env bash
# Records the JIT profiles the node and the perf harness compile with (core/Aivora.Node/Engine/JitProfile.cs): each is run
# once with tiered compilation on, so the JIT instruments the methods that get hot and counts their blocks and call targets,
# and the runtime writes the counts at exit; the profile keeps our own methods' entries (the framework's ship precompiled).
# The training runs use another seed than the measured ones, so the harness is not timed on the flow it was trained on:
#   - core/Aivora.Node/jit-profile.txt: the node's main job (the market-maker load over loopback UDP), --seed 7;
#   - perf/Aivora.Perf/jit-profile.txt: `perf node --quick --seed 7` and `perf risk --quick --case order-entry --seed 7`
#     in one process (`perf jit-training`; the measured flows are seeds 42 and 1), and `perf transport-throughput --quick`
#     (the transport figures come from the ping-pong, not trained on).
# Run it after changing the engine: an entry whose method's IL changed no longer matches and that method compiles
# without counts (slower, never wrong; JitProfileTests fails on it). About a minute; needs the .NET SDK and awk.
#
#   perf/scripts/record-jit-profile.sh [REPO_DIR]
set -euo pipefail
dir=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if ! dotnet build "$dir/perf/Aivora.Perf/Aivora.Perf.csproj" -c Release -nologo >"$work/build.log" 2>&1; then
  grep -E "error" "$work/build.log" >&2 || tail -20 "$work/build.log" >&2
  echo "record-jit-profile: the build failed" >&2
  exit 1
fi

# Keeps the entries whose method is ours, whole (an entry: its "@@@" header, name, signature, then schema and value lines),
# from one or more raw profiles; a method in several (the same "@@@" code and method hashes) keeps its first entry.
keep_ours() {
  local out=$1; shift
  awk '
    /^\*\*\* START PGO Data/ { next }
    /^\*\*\* END PGO Data/ { flush(); next }
    /^@@@ / { flush(); entry = $0 "\n"; key = $3 " " $5; next }
    entry != "" { entry = entry $0 "\n"; if ($0 ~ /^MethodName: /) ours = ($0 ~ /Aivora\./); next }
    function flush() { if (entry != "" && ours && !(key in seen)) { seen[key] = 1; kept = kept entry; n++ } entry = ""; ours = 0 }
    END { flush(); printf "*** START PGO Data, max index = %d ***\n%s*** END PGO Data ***\n", n, kept }
  ' "$@" >"$out"
  echo "record-jit-profile: $out: $(grep -c '^@@@ ' "$out") methods"
}

train() {   # raw output, then the command
  local raw=$1; shift
  AIVORA_JIT_PROFILE=off DOTNET_TieredCompilation=1 DOTNET_TieredPGO=1 DOTNET_WritePGOData=1 DOTNET_PGODataPath="$raw" \
    "$@" >"$work/run.log" 2>&1 || { echo "record-jit-profile: the training run failed: $*" >&2; tail -20 "$work/run.log" >&2; exit 1; }
}

node_dll=$dir/core/Aivora.Node/bin/Release/net10.0/Aivora.Node.dll
perf_dll=$dir/perf/Aivora.Perf/bin/Release/net10.0/Aivora.Perf.dll
train "$work/node.txt" dotnet "$node_dll" --seed 7
keep_ours "$dir/core/Aivora.Node/jit-profile.txt" "$work/node.txt"
# The harness: `perf jit-training` (the node flow and perf risk's order-entry flow, each at another seed than measured, in
# one process so the methods both take count both), and the transport's one-way throughput run (its publication,
# subscription and duty-cycle paths; the ping-pong the transport figures come from is not a training run).
train "$work/perf-node.txt" dotnet "$perf_dll" jit-training
train "$work/perf-transport.txt" dotnet "$perf_dll" transport-throughput --quick
keep_ours "$dir/perf/Aivora.Perf/jit-profile.txt" "$work/perf-node.txt" "$work/perf-transport.txt"
