#!/bin/sh
# patchcord launcher of the self-contained distribution: runs lib/patchcord.jar on the Java runtime
# bundled in runtime/, found relative to this script (through symbolic links, so /usr/bin/patchcord
# may point here). exec, so the process id and the signals are the JVM's own.
set -eu

ROOT=$(dirname "$(dirname "$(readlink -f "$0")")")
JAVA="$ROOT/runtime/bin/java"
JAR="$ROOT/lib/patchcord.jar"
# Where a class-data-sharing archive written at run time lives, for a tree without the one made
# at build time; dist/build.sh sets the Debian package's to /var/cache/patchcord.
ARCHIVE_DIR="$ROOT/lib"

if [ ! -x "$JAVA" ] || [ ! -f "$JAR" ]; then
  echo "patchcord: incomplete installation: $JAVA or $JAR is missing" >&2
  exit 1
fi

# The runtime's own archive covers the JDK's classes; lib/patchcord.jsa, made by dist/build.sh
# with a training run, covers patchcord's start-up and is only read. Without it, the first run that
# may write ARCHIVE_DIR (root, for the package) archives what it loaded, and later runs read that.
# Native access: the jar's manifest grants it (Enable-Native-Access).
# (Options are put in front of the arguments with `set --`: the path may hold spaces, sh has no arrays.)
if [ -r "$ROOT/lib/patchcord.jsa" ]; then
  set -- -XX:SharedArchiveFile="$ROOT/lib/patchcord.jsa" -Xlog:cds=off -Xlog:cds+dynamic=off -jar "$JAR" "$@"
elif [ -w "$ARCHIVE_DIR" ] || [ -r "$ARCHIVE_DIR/patchcord.jsa" ]; then
  set -- -XX:SharedArchiveFile="$ARCHIVE_DIR/patchcord.jsa" -XX:+AutoCreateSharedArchive -Xlog:cds=off \
    -Xlog:cds+dynamic=off -jar "$JAR" "$@"
else
  set -- -jar "$JAR" "$@"
fi
# shellcheck disable=SC2086 # PATCHCORD_JAVA_OPTS is a list of JVM options
# The compile thresholds of patchcord's own methods: as bin/patchcord says.
exec "$JAVA" -XX:+UseSerialGC -XX:CompileCommand=quiet -XX:CompileCommand=CompileThresholdScaling,dev.patchcord.*::*,0.05 \
  -Djava.awt.headless=true -Dpatchcord.launcher="$ROOT/bin/patchcord" ${PATCHCORD_JAVA_OPTS:-} "$@"
