#!/bin/sh
# patchcord launcher of the self-contained distribution: runs lib/patchcord.jar on the Java runtime
# bundled in runtime/, found relative to this script (through symbolic links, so /usr/bin/patchcord
# may point here). exec, so the process id and the signals are the JVM's own.
set -eu

ROOT=$(dirname "$(dirname "$(readlink -f "$0")")")
JAVA="$ROOT/runtime/bin/java"
JAR="$ROOT/lib/patchcord.jar"
# Where the class-data-sharing archive of patchcord's own classes lives; dist/build.sh sets the
# Debian package's to /var/cache/patchcord.
ARCHIVE_DIR="$ROOT/lib"

if [ ! -x "$JAVA" ] || [ ! -f "$JAR" ]; then
  echo "patchcord: incomplete installation: $JAVA or $JAR is missing" >&2
  exit 1
fi

# The runtime's own archive covers the JDK's classes. patchcord's are archived by the first run
# that may write ARCHIVE_DIR (root, for the package) and read by every later run, which starts
# faster. A run that may neither write nor read it simply starts without.
ARCHIVE="$ARCHIVE_DIR/patchcord.jsa"
if [ -w "$ARCHIVE_DIR" ] || [ -r "$ARCHIVE" ]; then
  # shellcheck disable=SC2086 # PATCHCORD_JAVA_OPTS is a list of JVM options
  exec "$JAVA" --enable-native-access=ALL-UNNAMED -XX:+UseSerialGC \
    -XX:SharedArchiveFile="$ARCHIVE" -XX:+AutoCreateSharedArchive -Xlog:cds=off -Xlog:cds+dynamic=off \
    -Djava.awt.headless=true -Dpatchcord.launcher="$ROOT/bin/patchcord" ${PATCHCORD_JAVA_OPTS:-} -jar "$JAR" "$@"
fi
# shellcheck disable=SC2086
exec "$JAVA" --enable-native-access=ALL-UNNAMED -XX:+UseSerialGC \
  -Djava.awt.headless=true -Dpatchcord.launcher="$ROOT/bin/patchcord" ${PATCHCORD_JAVA_OPTS:-} -jar "$JAR" "$@"
