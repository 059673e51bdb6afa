#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser: each @FuzzTest in src/test/java/dev/patchcord/fuzz is
# fuzzed by Jazzer (libFuzzer's engine, with coverage from bytecode instrumentation) for DURATION,
# each in a JVM of its own (Jazzer fuzzes one target per JVM), as many at once as there are cores
# (PATCHCORD_FUZZ_JOBS to choose): a fuzzer uses one core. In a short run most of a target's time
# is its JVM's start (about 7 s), which then shares the cores with another target's fuzzing.
#
#   bench/fuzz.sh [DURATION] [FILTER]      DURATION as libFuzzer counts it: 30s, 10m, 2h (default 10m)
#   bench/fuzz.sh 10m                      every target for ten minutes each
#   bench/fuzz.sh 2m WireGuard             only targets whose Class#method contains "WireGuard"
#
# bin/test runs it with a few seconds per target, so every CI run fuzzes a little.
#
# Per target it prints the executions and their rate; an input that fails a target is written
# to target/fuzz/crashes/CLASS#METHOD/ and named in the summary, and the script exits with 1. To keep
# such an input as a regression test, copy it into
# src/test/resources/dev/patchcord/fuzz/CLASSInputs/METHOD/: `mvn verify` replays every file there.
# The inputs each target found interesting are kept in target/fuzz/corpus/ and reused by the next
# run (until `mvn clean`).
set -euo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
DURATION=${1:-10m}
FILTER=${2:-}
# shellcheck source=../bin/lib/jdk.sh
. "$ROOT/bin/lib/jdk.sh"
JDK=$(find_jdk)
[ -n "$JDK" ] || { echo "fuzz: $NO_JDK_MESSAGE" >&2; exit 1; }
export JAVA_HOME="$JDK"

seconds() {
  local d=$1
  case "$d" in
    *h) echo $(( ${d%h} * 3600 )) ;;
    *m) echo $(( ${d%m} * 60 )) ;;
    *s) echo "${d%s}" ;;
    *[!0-9]*|'') echo "fuzz: DURATION must look like 30s, 10m or 2h, not '$d'" >&2; exit 2 ;;
    *) echo "$d" ;;
  esac
}
SECS=$(seconds "$DURATION")

cd "$ROOT"
OUT="$ROOT/target/fuzz"
mkdir -p "$OUT"
# The test classes and the test class path (Jazzer, JUnit and the project's dependencies).
mvn -B -ntp -q test-compile org.apache.maven.plugins:maven-dependency-plugin:3.8.1:build-classpath \
  -Dmdep.includeScope=test \
  -Dmdep.outputFile="$OUT/classpath.txt" >"$OUT/build.log" 2>&1 \
  || { cat "$OUT/build.log" >&2; echo "fuzz: the build failed" >&2; exit 1; }
CP="$ROOT/target/test-classes:$ROOT/target/classes:$(cat "$OUT/classpath.txt")"

# Every @FuzzTest method: the first method declared after each annotation.
mapfile -t TARGETS < <(
  for f in src/test/java/dev/patchcord/fuzz/*.java; do
    awk -v cls="$(basename "$f" .java)" '
      /@FuzzTest/ { want = 1; next }
      want && match($0, /void [A-Za-z0-9_]+\(/) { print cls "#" substr($0, RSTART + 5, RLENGTH - 6); want = 0 }
    ' "$f"
  done | grep -F -- "$FILTER" || true)
[ ${#TARGETS[@]} -gt 0 ] || { echo "fuzz: no target matches '$FILTER'" >&2; exit 2; }

# Coverage is measured in patchcord and in the JSON parser it uses; the JDK, the cipher library
# and the test libraries are left alone (instrumenting them costs start-up time, not bugs).
COVERED='dev.patchcord.**:com.fasterxml.jackson.**'
JIT=()
if [ "$SECS" -le 30 ]; then
  # A short run is mostly the JVM's start: without the optimising compiler and without
  # instrumenting Jackson (which alone takes longer than a few seconds), it keeps time to fuzz.
  COVERED='dev.patchcord.**'
  JIT=(-XX:TieredStopAtLevel=1)
fi

JOBS=${PATCHCORD_FUZZ_JOBS:-$(nproc)}
[[ "$JOBS" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz: PATCHCORD_FUZZ_JOBS must be a positive number, not '$JOBS'" >&2; exit 2; }
RESULTS="$OUT/results"
rm -rf "$RESULTS"
mkdir -p "$RESULTS"

# Fuzzes one target; its exit code goes to results/TARGET for the summary below.
fuzz_one() {
  local t=$1 cls method corpus crashes seeds log dirs
  cls=${t%#*}
  method=${t#*#}
  corpus="$OUT/corpus/$t"
  crashes="$OUT/crashes/$t"
  seeds="$ROOT/src/test/resources/dev/patchcord/fuzz/${cls}Inputs/$method"
  log="$OUT/logs/$t.log"
  rm -rf "$crashes"
  mkdir -p "$corpus" "$crashes" "$(dirname "$log")"
  dirs=("$corpus")
  [ -d "$seeds" ] && dirs+=("$seeds")
  # libFuzzer takes the last of repeated flags, so these win over what Jazzer derives from the
  # annotation. The first directory collects new inputs; the seed directory is only read.
  (cd "$OUT" && "$JDK/bin/java" -XX:+EnableDynamicAgentLoading --enable-native-access=ALL-UNNAMED \
      -Xmx1g "${JIT[@]}" -cp "$CP" com.code_intelligence.jazzer.Jazzer \
      --target_class="dev.patchcord.fuzz.$cls" --target_method="$method" \
      --instrumentation_includes="$COVERED" --custom_hook_includes="$COVERED" \
      "-max_total_time=$SECS" "-artifact_prefix=$crashes/" -print_final_stats=1 \
      "${dirs[@]}") >"$log" 2>&1
  echo $? >"$RESULTS/$t"
}

echo "fuzz: ${#TARGETS[@]} targets, ${SECS}s each, $JOBS at once"
set +e
for t in "${TARGETS[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do
    wait -n
  done
  fuzz_one "$t" &
done
wait
set -e

failed=()
total=0
for t in "${TARGETS[@]}"; do
  crashes="$OUT/crashes/$t"
  log="$OUT/logs/$t.log"
  rc=$(cat "$RESULTS/$t" 2>/dev/null || echo 125)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  runs=${runs:-0}
  total=$((total + runs))
  found=$(find "$crashes" -type f | head -5)
  if [ "$rc" -ne 0 ] || [ -n "$found" ]; then
    failed+=("$t")
    printf '%-45s %12s executions  %8s/s  FAILED (exit %d)\n' "$t" "$runs" "${rate:-0}" "$rc"
    grep -m1 -A12 -E '== Java Exception|FuzzTestFindingException|== Java Assertion|ERROR' "$log" | sed 's/^/    /' || true
    for c in $found; do echo "    input: $c"; done
    echo "    log: $log"
  else
    printf '%-45s %12s executions  %8s/s\n' "$t" "$runs" "${rate:-0}"
  fi
done
echo "fuzz: $total executions in all, ${#failed[@]} of ${#TARGETS[@]} targets failed"
[ ${#failed[@]} -eq 0 ]
