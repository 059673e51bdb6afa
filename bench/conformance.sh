#!/usr/bin/env bash
# The conformance suite (src/test/java/dev/patchcord/e2e/conformance, docs/conformance.md) against
# each WireGuard implementation in turn, one Maven/failsafe run per implementation with the one
# switch (CONFORMANCE_IMPL), then a markdown table: a row per scenario, a column per
# implementation (pass / FAIL / skipped (reason)), the figures the scenarios measured, and the
# first line of every failure.
#
#   sudo bench/conformance.sh [IMPL...]
#
# IMPL: patchcord, wireguard-go (Debian's, on PATH), wireguard-go-current (WIREGUARD_GO, by
# default ../shared/anchors/wireguard-go-0.0.20250522 from the project root); default all three.
# One that is not installed is skipped with a note. Each run takes a few minutes. MVN_FLAGS
# (default -o) is passed to Maven; CONFORMANCE_KEEP=DIR keeps the reports and logs in DIR.
set -euo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
# shellcheck source=../bin/lib/jdk.sh
. "$ROOT/bin/lib/jdk.sh"
JDK=$(find_jdk)
[ -n "$JDK" ] || { echo "bench: $NO_JDK_MESSAGE" >&2; exit 1; }
export JAVA_HOME="$JDK"
[ "$(id -u)" = 0 ] || { echo "bench: needs root (the suite creates network namespaces)" >&2; exit 1; }
for c in mvn ip wg ping iperf3 nft; do
  command -v "$c" >/dev/null || { echo "bench: needs $c" >&2; exit 1; }
done

IMPLS=("$@")
[ ${#IMPLS[@]} -gt 0 ] || IMPLS=(patchcord wireguard-go wireguard-go-current)
WIREGUARD_GO=${WIREGUARD_GO:-$ROOT/../shared/anchors/wireguard-go-0.0.20250522}
export WIREGUARD_GO
read -r -a MVN_EXTRA <<<"${MVN_FLAGS:--o}"
SUITE=$ROOT/src/test/java/dev/patchcord/e2e/conformance

OUT=${CONFORMANCE_KEEP:-$(mktemp -d)}
mkdir -p "$OUT"
[ -n "${CONFORMANCE_KEEP:-}" ] || trap 'rm -rf "$OUT"' EXIT
: >"$OUT/figures.tsv"

# results IMPL REPORTDIR: one line per test case, "CLASS.METHOD<TAB>VERDICT<TAB>MESSAGE", from
# failsafe's XML reports (a testcase element, then a failure, error or skipped element, if any).
results() {
  local f
  for f in "$2"/TEST-*.xml; do
    [ -e "$f" ] || continue
    awk '
      function attr(line, name,   m) {
        if (match(line, name "=\"[^\"]*\"")) {
          m = substr(line, RSTART + length(name) + 2, RLENGTH - length(name) - 3)
          gsub(/&quot;/, "\"", m); gsub(/&lt;/, "<", m); gsub(/&gt;/, ">", m); gsub(/&apos;/, "\x27", m)
          gsub(/&#10;/, " ", m); gsub(/&#13;/, "", m); gsub(/&amp;/, "\\&", m); gsub(/\t/, " ", m)
          return m
        }
        return ""
      }
      # Text inside CDATA (stack traces, output) is not markup, whatever it looks like.
      incdata { if (index($0, "]]>")) incdata = 0; next }
      function emit() { if (open) { sub(/.*\./, "", cls); sub(/\(.*/, "", name); print cls "." name "\t" verdict "\t" msg; open = 0 } }
      /^[ \t]*<testcase / {
        emit(); open = 1; name = attr($0, "name"); cls = attr($0, "classname"); verdict = "pass"; msg = ""
        if ($0 ~ /\/>[ \t]*$/) emit()
        next
      }
      open && /^[ \t]*<(failure|error)/ { verdict = "FAIL"; msg = attr($0, "message"); if (msg == "") msg = attr($0, "type") }
      open && /^[ \t]*<skipped/ { verdict = "skipped"; msg = attr($0, "message") }
      open && /<\/testcase>/ { emit() }
      { i = index($0, "<![CDATA["); if (i && !index(substr($0, i + 9), "]]>")) incdata = 1 }
      END { emit() }
    ' "$f"
  done
}

available() {
  case $1 in
    patchcord) return 0 ;;
    wireguard-go) command -v wireguard-go >/dev/null ;;
    wireguard-go-current) [ -x "$WIREGUARD_GO" ] ;;
    *) echo "bench: unknown implementation $1 (patchcord, wireguard-go, wireguard-go-current)" >&2; exit 1 ;;
  esac
}

NOTES=()
RAN=()
for impl in "${IMPLS[@]}"; do
  if ! available "$impl"; then
    NOTES+=("$impl: not installed here, skipped$([ "$impl" = wireguard-go-current ] && echo " (no $WIREGUARD_GO; set WIREGUARD_GO)")")
    continue
  fi
  echo "bench: conformance suite against $impl (log: $OUT/$impl.log)" >&2
  rm -rf "$ROOT/target/failsafe-reports"
  start=$(date +%s)
  (cd "$ROOT" && CONFORMANCE_IMPL=$impl CONFORMANCE_FIGURES="$OUT/figures.tsv" \
    mvn -B -ntp "${MVN_EXTRA[@]}" verify -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false \
      -Dit.test='**/conformance/*IT' -Dconformance.impl="$impl") >"$OUT/$impl.log" 2>&1 || true
  mkdir -p "$OUT/$impl"
  cp "$ROOT"/target/failsafe-reports/TEST-dev.patchcord.e2e.conformance.*.xml "$OUT/$impl/" 2>/dev/null || true
  results "$impl" "$OUT/$impl" >"$OUT/$impl.tsv"
  if [ ! -s "$OUT/$impl.tsv" ]; then
    NOTES+=("$impl: no test reports (the build failed?); the end of its log:")
    while IFS= read -r l; do NOTES+=("    $l"); done < <(tail -n 15 "$OUT/$impl.log")
    continue
  fi
  NOTES+=("$impl: $(($(date +%s) - start)) s")
  RAN+=("$impl")
done

# Words from a method name: pingsOfManySizesOverAnIpv4Underlay -> pings of many sizes over an IPv4 underlay.
humanize() {
  sed -E 's/([a-z0-9])([A-Z])/\1 \2/g; s/([A-Z])([A-Z][a-z])/\1 \2/g' <<<"$1" | tr '[:upper:]' '[:lower:]' | sed -E \
    's/\bipv([46])\b/IPv\1/g; s/\btcp\b/TCP/g; s/\budp\b/UDP/g; s/\bmtus?\b/\U&/g; s/\bMTUS\b/MTUs/g;
     s/\bicmp\b/ICMP/g; s/\bnat\b/NAT/g; s/\bsigterm\b/SIGTERM/g; s/\bdev null\b/\/dev\/null/g;
     s/\bips\b/IPs/g; /^wg /!s/^./\U&/'
}

if [ ${#RAN[@]} -gt 0 ]; then
  echo
  header="| scenario |"; rule="|---|"
  for impl in "${RAN[@]}"; do header+=" $impl |"; rule+="---|"; done
  echo "$header"; echo "$rule"
  # Rows in the order of the test sources (scenarios the reports have and the sources do not, last).
  {
    for src in "$SUITE"/*IT.java; do
      sed -nE "s/^    void ([A-Za-z0-9_]+)\(Lab lab\).*/$(basename "$src" .java).\1/p" "$src"
    done
    for impl in "${RAN[@]}"; do cut -f1 "$OUT/$impl.tsv"; done
  } | awk '!seen[$0]++' | while IFS= read -r test; do
    row="| ${test%%.*}: $(humanize "${test#*.}") |"; reported=
    for impl in "${RAN[@]}"; do
      line=$(awk -F'\t' -v t="$test" '$1 == t { print; exit }' "$OUT/$impl.tsv")
      [ -z "$line" ] || reported=1
      verdict=$(cut -f2 <<<"$line"); msg=$(cut -f3 <<<"$line")
      case $verdict in
        "") row+=" – |" ;;
        skipped) row+=" skipped (${msg:-no reason}) |" ;;
        *) row+=" $verdict |" ;;
      esac
    done
    [ -z "$reported" ] || echo "$row"
  done
  if [ -s "$OUT/figures.tsv" ]; then
    echo
    header="| figure |"; rule="|---|"
    for impl in "${RAN[@]}"; do header+=" $impl |"; rule+="---:|"; done
    echo "$header"; echo "$rule"
    cut -f2 "$OUT/figures.tsv" | awk '!seen[$0]++' | while IFS= read -r name; do
      row="| $name |"
      for impl in "${RAN[@]}"; do
        v=$(awk -F'\t' -v i="$impl" -v n="$name" '$1 == i && $2 == n { v = $3 } END { print v }' "$OUT/figures.tsv")
        row+=" ${v:-–} |"
      done
      echo "$row"
    done
  fi
  echo
  for impl in "${RAN[@]}"; do
    awk -F'\t' -v i="$impl" '$2 == "FAIL" { m = $3; if (length(m) > 300) m = substr(m, 1, 300) "…"; print "- " i ", " $1 ": " m }' "$OUT/$impl.tsv"
  done
fi
echo
for n in "${NOTES[@]}"; do echo "$n"; done
