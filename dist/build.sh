#!/usr/bin/env bash
# Builds the self-contained distribution (a .tar.gz) and the Debian package (a .deb) from
# target/patchcord.jar, into target/dist/. Run by `mvn -Pdist package` after the jar is made;
# needs a JDK 25 (for jdeps and jlink, found as bin/patchcord finds it), dpkg-deb and gzip.
#
#   dist/build.sh VERSION      e.g. 0.1.0-SNAPSHOT (the Debian version becomes 0.1.0~SNAPSHOT)
set -euo pipefail

ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
VERSION=${1:?usage: dist/build.sh VERSION}
# shellcheck source=../bin/lib/jdk.sh
. "$ROOT/bin/lib/jdk.sh"
# shellcheck source=../bin/lib/archive.sh
. "$ROOT/bin/lib/archive.sh"

die() { echo "dist/build.sh: $*" >&2; exit 1; }

JDK=$(find_jdk)
[ -n "$JDK" ] || die "$NO_JDK_MESSAGE"
JAR="$ROOT/target/patchcord.jar"
[ -f "$JAR" ] || die "$JAR is missing: build it first (mvn -Pdist package does)"
command -v dpkg-deb >/dev/null || die "dpkg-deb is missing (Debian package dpkg)"

OUT="$ROOT/target/dist"
WORK="$OUT/work"
rm -rf "$OUT"
mkdir -p "$WORK"
# Timestamps in the archives: SOURCE_DATE_EPOCH if given (reproducible builds), else now.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(date +%s)}

# --- The Java runtime -------------------------------------------------------------------------
# The modules the jar uses, as jdeps sees them (java.net.http: the directory client and udptun's
# hosts URL; jdk.httpserver: the directory server; java.desktop: ImageIO for QR code PNGs;
# java.naming and java.sql: referenced by the bundled libraries). X25519, ChaCha20-Poly1305 and TLS
# are in java.base (jdk.crypto.ec has been empty since JDK 22). Nothing else is loaded by name.
MODULES=$("$JDK/bin/jdeps" --multi-release 25 --ignore-missing-deps --print-module-deps "$JAR")
for m in java.base java.desktop java.net.http jdk.httpserver; do
  case ",$MODULES," in *",$m,"*) ;; *) die "jdeps did not report $m (modules: $MODULES)";; esac
done
echo "dist/build.sh: runtime modules $MODULES" >&2

# No window, no sound, no splash screen: their native libraries (and the X11 and ALSA libraries
# they link to) are left out, so the runtime needs only the C library. The runtime's own
# class-data-sharing archive is made for the usual compressed-pointer heap only (heaps under 32 GB).
RUNTIME="$WORK/runtime"
"$JDK/bin/jlink" --add-modules "$MODULES" --output "$RUNTIME" \
  --strip-debug --no-man-pages --no-header-files --generate-cds-archive \
  --exclude-files='**/libawt_xawt.so,**/libjawt.so,**/libjsound.so,**/libsplashscreen.so'
rm -f "$RUNTIME/lib/server/classes_nocoops.jsa"

# --- Help files, made by the runtime just built (a first check that it runs the jar) ----------
"$RUNTIME/bin/java" -Djava.awt.headless=true -cp "$JAR" dev.patchcord.cli.HelpFiles "$WORK/help"
MAN="$WORK/help/patchcord.8"
COMPLETION="$WORK/help/patchcord.bash-completion"
bash -n "$COMPLETION"
cp "$MAN" "$COMPLETION" "$OUT/"

# --- Tree layout shared by both packages: PREFIX/{bin/patchcord, lib/patchcord.jar, runtime/} --
# $1: destination, $2: where the launcher keeps the class-data-sharing archive ('' = beside the jar)
install_tree() {
  local dest=$1 archive_dir=$2
  mkdir -p "$dest/bin" "$dest/lib"
  cp -a "$RUNTIME" "$dest/runtime"
  install -m 0644 "$JAR" "$dest/lib/patchcord.jar"
  install -m 0755 "$ROOT/dist/launcher.sh" "$dest/bin/patchcord"
  if [ -n "$archive_dir" ]; then
    sed -i "s|^ARCHIVE_DIR=.*|ARCHIVE_DIR=$archive_dir|" "$dest/bin/patchcord"
    grep -qx "ARCHIVE_DIR=$archive_dir" "$dest/bin/patchcord" || die "could not set ARCHIVE_DIR in the launcher"
  fi
}

# Files in an archive owned by root, dated SOURCE_DATE_EPOCH, directories 0755 and files 0644 or
# 0755, whatever the umask of the build.
normalize() {
  find "$1" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
  find "$1" -type d -exec chmod 0755 {} +
  find "$1" -type f -perm /111 -exec chmod 0755 {} +
  find "$1" -type f ! -perm /111 -exec chmod 0644 {} +
}

# The AOT cache of patchcord's start-up and packet path, made now by a training run of the tree's
# own runtime and jar (bin/lib/archive.sh), so that the first start of an installed patchcord is as
# quick as every later one and nothing needs writing at run time. Build time rather than postinst:
# the package carries its own runtime, so the JVM that reads the cache is the one that made it
# (the target's installed JDK plays no part), and the installing machine needs no namespaces, no
# training run and no 25 MB written under /var. The JVM checks the jar's size and date against the
# cache, so this runs after normalize() has dated the jar, and the packages keep the dates. The
# options are the launcher's (dist/launcher.sh). Where no training can run (no network namespaces
# for the build), the package goes without and says why; the launcher then falls back to a
# class-data-sharing archive written by the first run.
tree_cache() { # tree
  if make_cache "$1/runtime/bin/java" "$1/lib/patchcord.jar" "$1/lib/patchcord.aot" -XX:+UseSerialGC \
      -Djava.awt.headless=true; then
    chmod 0644 "$1/lib/patchcord.aot"
    touch -h -d "@$SOURCE_DATE_EPOCH" "$1/lib/patchcord.aot" "$1/lib"
  else
    echo "dist/build.sh: no AOT cache in $1 (the training run failed: $(tr '\n' ' ' <"$1/lib/patchcord.aot.log"))" >&2
    rm -f "$1/lib/patchcord.aot.log"
  fi
}

# --- The .tar.gz: unpack anywhere, run bin/patchcord --------------------------------------------
NAME="patchcord-$VERSION"
TREE="$WORK/tar/$NAME"
install_tree "$TREE" ""
mkdir -p "$TREE/share/man/man8" "$TREE/share/bash-completion/completions" "$TREE/systemd"
gzip -9n < "$MAN" > "$TREE/share/man/man8/patchcord.8.gz"
cp "$COMPLETION" "$TREE/share/bash-completion/completions/patchcord"
cp "$ROOT/dist/systemd/patchcord@.service" "$ROOT/dist/systemd/patchcord.sysusers" "$TREE/systemd/"
normalize "$TREE"
tree_cache "$TREE"
TARBALL="$OUT/$NAME-linux-$(uname -m).tar.gz"
tar -C "$WORK/tar" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
  -cf - "$NAME" | gzip -9n > "$TARBALL"

# --- The .deb -----------------------------------------------------------------------------------
DEB="$WORK/deb"
install_tree "$DEB/usr/lib/patchcord" /var/cache/patchcord
mkdir -p "$DEB/usr/bin" "$DEB/usr/share/man/man8" "$DEB/usr/share/bash-completion/completions" \
  "$DEB/lib/systemd/system" "$DEB/usr/lib/sysusers.d" "$DEB/etc/patchcord" "$DEB/var/cache/patchcord" \
  "$DEB/usr/share/doc/patchcord" "$DEB/DEBIAN"
ln -s ../lib/patchcord/bin/patchcord "$DEB/usr/bin/patchcord"
gzip -9n < "$MAN" > "$DEB/usr/share/man/man8/patchcord.8.gz"
cp "$COMPLETION" "$DEB/usr/share/bash-completion/completions/patchcord"
# The unit as written runs /usr/local/bin/patchcord (a hand installation); the package's is /usr/bin.
sed -e 's|^ExecStart=/usr/local/bin/patchcord |ExecStart=/usr/bin/patchcord |' \
  -e 's|^ExecReload=/usr/local/bin/patchcord |ExecReload=/usr/bin/patchcord |' \
  "$ROOT/dist/systemd/patchcord@.service" > "$DEB/lib/systemd/system/patchcord@.service"
grep -q '^ExecStart=/usr/bin/patchcord ' "$DEB/lib/systemd/system/patchcord@.service" \
  || die "dist/systemd/patchcord@.service: no ExecStart=/usr/local/bin/patchcord line to point at /usr/bin"
grep -q '^ExecReload=/usr/bin/patchcord restart ' "$DEB/lib/systemd/system/patchcord@.service" \
  || die "dist/systemd/patchcord@.service: no ExecReload=/usr/local/bin/patchcord restart line to point at /usr/bin"
cp "$ROOT/dist/systemd/patchcord.sysusers" "$DEB/usr/lib/sysusers.d/patchcord.conf"
cp "$ROOT/dist/deb/README.Debian" "$DEB/usr/share/doc/patchcord/README.Debian"
for script in postinst prerm postrm; do
  install -m 0755 "$ROOT/dist/deb/$script" "$DEB/DEBIAN/$script"
done
normalize "$DEB"
tree_cache "$DEB/usr/lib/patchcord"
chmod 0700 "$DEB/etc/patchcord"   # keys live here: root's alone

# Debian orders 0.1.0~SNAPSHOT before 0.1.0; '-' would mean a Debian revision.
DEB_VERSION=${VERSION//-/\~}
ARCH=$(dpkg --print-architecture)   # the bundled runtime is the build machine's
INSTALLED_KB=$(du -sk --exclude=DEBIAN "$DEB" | cut -f1)
sed -e "s|@VERSION@|$DEB_VERSION|" -e "s|@ARCH@|$ARCH|" -e "s|@INSTALLED_SIZE@|$INSTALLED_KB|" \
  "$ROOT/dist/deb/control" > "$DEB/DEBIAN/control"
(cd "$DEB" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z \
  | xargs -0 md5sum > DEBIAN/md5sums)
chmod 0644 "$DEB/DEBIAN/control" "$DEB/DEBIAN/md5sums"
DEBFILE="$OUT/patchcord_${DEB_VERSION}_$ARCH.deb"
# xz makes the smallest package; DEB_COMPRESSION=gzip builds several times faster (bin/test uses it).
dpkg-deb --root-owner-group -Z"${DEB_COMPRESSION:-xz}" --build "$DEB" "$DEBFILE" >/dev/null

rm -rf "$WORK"
echo "dist/build.sh: built" >&2
ls -l "$TARBALL" "$DEBFILE" "$OUT/patchcord.8" "$OUT/patchcord.bash-completion" >&2
