#!/bin/sh
# patchcord launcher of the self-contained distribution: runs lib/patchcord.jar on the Java runtime
# bundled in runtime/, found relative to this script (through symbolic links, so /usr/bin/patchcord
# may point here). exec, so the process id and the signals are the JVM's own.
set -eu

ROOT=$(dirname "$(dirname "$(readlink -f "$0")")")
JAVA="$ROOT/runtime/bin/java"
JAR="$ROOT/lib/patchcord.jar"
# Where a class-data-sharing archive written at run time lives, for a tree without the AOT cache
# made at build time; dist/build.sh sets the Debian package's to /var/cache/patchcord.
ARCHIVE_DIR="$ROOT/lib"

if [ ! -x "$JAVA" ] || [ ! -f "$JAR" ]; then
  echo "patchcord: incomplete installation: $JAVA or $JAR is missing" >&2
  exit 1
fi

# lib/patchcord.aot, the AOT cache made by dist/build.sh with a training run (bin/lib/archive.sh),
# holds patchcord's start-up classes and the method profiles of its packet path, and is only read;
# a cache the JVM finds does not match (another runtime, a replaced jar) is ignored, and patchcord
# starts without it. Without one, the first run that may write ARCHIVE_DIR (root, for the package)
# archives the classes it loaded, and later runs read that.
# Native access: the jar's manifest grants it (Enable-Native-Access).
# (Options are put in front of the arguments with `set --`: the path may hold spaces, sh has no arrays.)
QUIET='-Xlog:aot*=off,cds*=off'
if [ -r "$ROOT/lib/patchcord.aot" ]; then
  set -- -XX:AOTCache="$ROOT/lib/patchcord.aot" "$QUIET" -jar "$JAR" "$@"
elif [ -w "$ARCHIVE_DIR" ] || [ -r "$ARCHIVE_DIR/patchcord.jsa" ]; then
  set -- -XX:SharedArchiveFile="$ARCHIVE_DIR/patchcord.jsa" -XX:+AutoCreateSharedArchive "$QUIET" -jar "$JAR" "$@"
else
  set -- -jar "$JAR" "$@"
fi
# shellcheck disable=SC2086 # PATCHCORD_JAVA_OPTS is a list of JVM options
# The compile thresholds of patchcord's own methods: as bin/patchcord says.
exec "$JAVA" -XX:+UseSerialGC -XX:CompileCommand=quiet -XX:CompileCommand=CompileThresholdScaling,dev.patchcord.*::*,0.05 \
  -Djava.awt.headless=true -Dpatchcord.launcher="$ROOT/bin/patchcord" ${PATCHCORD_JAVA_OPTS:-} "$@"
