#!/usr/bin/env bash
# Records the JIT profiles the node and the perf harness compile with (core/Aivora.Node/Engine/JitProfile.cs): each is run
# once with tiered compilation on, so the JIT instruments the methods that get hot and counts their blocks and call targets,
# and the runtime writes the counts at exit; the profile keeps our own methods' entries (the framework's ship precompiled).
# The training runs use another seed than the measured ones, so the harness is not timed on the flow it was trained on:
#   - core/Aivora.Node/jit-profile.txt: the node's main job (the market-maker load over loopback UDP), --seed 7;
#   - perf/Aivora.Perf/jit-profile.txt: `perf node --quick --seed 7` (the measured flow is seed 42).
# Run it after changing the engine: an entry whose method's IL changed no longer matches and that method compiles
# without counts (slower, never wrong). About two minutes; needs the .NET SDK and awk.
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

# Keeps the entries whose method is ours, whole (an entry: its "@@@" header, name, signature, then schema and value lines).
keep_ours() {
  awk '
    /^\*\*\* START PGO Data/ { next }
    /^\*\*\* END PGO Data/ { flush(); next }
    /^@@@ / { flush(); entry = $0 "\n"; next }
    entry != "" { entry = entry $0 "\n"; if ($0 ~ /^MethodName: /) ours = ($0 ~ /Aivora\./); next }
    function flush() { if (entry != "" && ours) { kept = kept entry; n++ } entry = ""; ours = 0 }
    END { flush(); printf "*** START PGO Data, max index = %d ***\n%s*** END PGO Data ***\n", n, kept }
  ' "$1" >"$2"
  echo "record-jit-profile: $2: $(grep -c '^@@@ ' "$2") methods"
}

record() {   # output, then the command
  local out=$1; shift
  AIVORA_JIT_PROFILE=off DOTNET_TieredCompilation=1 DOTNET_TieredPGO=1 DOTNET_WritePGOData=1 DOTNET_PGODataPath="$work/raw.txt" \
    "$@" >"$work/run.log" 2>&1 || { echo "record-jit-profile: the training run failed: $*" >&2; tail -20 "$work/run.log" >&2; exit 1; }
  keep_ours "$work/raw.txt" "$out"
}

record "$dir/core/Aivora.Node/jit-profile.txt" dotnet "$dir/core/Aivora.Node/bin/Release/net10.0/Aivora.Node.dll" --seed 7
record "$dir/perf/Aivora.Perf/jit-profile.txt" dotnet "$dir/perf/Aivora.Perf/bin/Release/net10.0/Aivora.Perf.dll" node --quick --seed 7
