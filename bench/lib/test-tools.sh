#!/usr/bin/env bash
# Runs the test tools (src/test/java/dev/patchcord/tools: `flood`, `impair`), which ship with
# nothing: builds the test classes and their class path first when the sources are newer, then
# execs the JVM, so the process id and signals are the tool's own.
#
#   bench/lib/test-tools.sh flood --host H --port P --public-key KEY [...]
#   bench/lib/test-tools.sh impair --listen ADDR:PORT --to ADDR:PORT [...]
set -euo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)
# shellcheck source=../../bin/lib/jdk.sh
. "$ROOT/bin/lib/jdk.sh"
JDK=$(find_jdk) || true
[ -n "$JDK" ] || { echo "test-tools: $NO_JDK_MESSAGE" >&2; exit 1; }
CLASSPATH_FILE="$ROOT/target/test-tools.classpath"
STAMP="$ROOT/target/test-classes/dev/patchcord/tools/TestTools.class"

stale() {
  [ -f "$STAMP" ] && [ -f "$CLASSPATH_FILE" ] || return 0
  [ -z "$(find "$ROOT/src" "$ROOT/pom.xml" -type f -newer "$STAMP" -print -quit 2>/dev/null)" ] && return 1
  return 0
}
if stale; then
  command -v mvn >/dev/null || { echo "test-tools: the test classes must be built and Maven (mvn) is not installed" >&2; exit 1; }
  mkdir -p "$ROOT/target"
  exec 9>"$ROOT/target/.build.lock"
  flock 9
  if stale; then
    echo "test-tools: building the test classes..." >&2
    log=$(mktemp)
    if ! (cd "$ROOT" && JAVA_HOME="$JDK" mvn -q -B -ntp -o test-compile dependency:build-classpath \
        -Dmdep.outputFile="$CLASSPATH_FILE" -Dmdep.includeScope=test) >"$log" 2>&1; then
      cat "$log" >&2; rm -f "$log"
      echo "test-tools: build failed (Maven's output above)" >&2; exit 1
    fi
    rm -f "$log"
    touch "$STAMP"
  fi
  exec 9>&-
fi
exec "$JDK/bin/java" --enable-native-access=ALL-UNNAMED \
  -cp "$ROOT/target/classes:$ROOT/target/test-classes:$(cat "$CLASSPATH_FILE")" dev.patchcord.tools.TestTools "$@"
