# Sourced by bin/patchcord and bin/test: find_jdk prints the home of a JDK >= 25, or nothing.
# JAVA_HOME wins if it is new enough; otherwise the newest under /usr/lib/jvm (PATCHCORD_JVM_DIR).
MIN_JAVA=25

# The feature version of a JDK home ("25" for 25.0.3), from its release file; empty if none.
java_version() {
  local rel="$1/release"
  [ -x "$1/bin/java" ] && [ -r "$rel" ] || return 0
  sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$rel"
}

find_jdk() {
  local v
  if [ -n "${JAVA_HOME:-}" ]; then
    v=$(java_version "$JAVA_HOME")
    if [ -n "$v" ] && [ "$v" -ge "$MIN_JAVA" ]; then echo "$JAVA_HOME"; return; fi
  fi
  local best="" bestv=0 d
  for d in "${PATCHCORD_JVM_DIR:-/usr/lib/jvm}"/*/; do
    d=${d%/}
    [ -L "$d" ] && continue   # Debian's aliases point at the same JDKs
    v=$(java_version "$d")
    if [ -n "$v" ] && [ "$v" -ge "$MIN_JAVA" ] && [ "$v" -gt "$bestv" ]; then best=$d; bestv=$v; fi
  done
  if [ -n "$best" ]; then echo "$best"; fi
}

NO_JDK_MESSAGE="needs a JDK $MIN_JAVA or newer: set JAVA_HOME to one, or install one under ${PATCHCORD_JVM_DIR:-/usr/lib/jvm} (e.g. Temurin 25)"
