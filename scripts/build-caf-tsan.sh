#!/usr/bin/env bash
# Builds CAF 0.17.6 (libcaf_core, libcaf_io) with ThreadSanitizer into PREFIX,
# for meshrt's TSan build. Debian's prebuilt libcaf is not instrumented, so
# TSan cannot see CAF's mailbox hand-offs and reports each as a race.
#
# The source is Debian's own: a deb-src entry for bookworm, then
# `apt-get source --download-only actor-framework`, whose orig.tar.gz is
# upstream 0.17.6 (its Debian patch tarball may answer 404; the orig is all
# we need, checked against the .dsc's SHA-256). Idempotent: quick when PREFIX
# already holds a build made with the same flags.
#
# Usage: build-caf-tsan.sh PREFIX
set -euo pipefail
prefix=$(realpath -m "$1")
version=0.17.6
flags="-fsanitize=thread -fno-omit-frame-pointer -O1 -g1 -DNDEBUG"
stamp="$prefix/meshrt-caf.stamp"
want="caf $version flags $flags"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -f "$prefix/lib/libcaf_io.so" ]; then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
sources_file=/etc/apt/sources.list.d/meshrt-deb-src.sources
if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ &&
   ! grep -qs '^deb-src' /etc/apt/sources.list; then
  echo "build-caf-tsan: adding a deb-src entry for bookworm ($sources_file)" >&2
  $sudo tee "$sources_file" >/dev/null <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  $sudo apt-get update -qq >/dev/null
fi

work="$prefix.work"
rm -rf "$work" && mkdir -p "$work"
cd "$work"
echo "build-caf-tsan: fetching the actor-framework source package" >&2
# The Debian patch tarball may be missing (404); the orig tarball is enough.
apt-get source --download-only actor-framework >download.log 2>&1 || true
orig=actor-framework_${version}.orig.tar.gz
dsc=$(ls actor-framework_${version}-*.dsc 2>/dev/null | head -1 || true)
if [ ! -f "$orig" ] || [ -z "$dsc" ]; then
  echo "build-caf-tsan: could not fetch $orig (see $work/download.log)" >&2
  exit 1
fi
want_sum=$(awk -v f="$orig" '/^Checksums-Sha256:/ {s=1; next} /^[A-Z]/ {s=0}
                             s && $3 == f {print $1}' "$dsc")
if [ "$(sha256sum "$orig" | cut -d' ' -f1)" != "$want_sum" ]; then
  echo "build-caf-tsan: $orig does not match the SHA-256 in $dsc" >&2
  exit 1
fi
tar xzf "$orig"
# Debian's one header fix (its patch tarball being unavailable): GCC 12 no
# longer brings <limits> in through <algorithm>.
sed -i '/#include <cstring>/a #include <limits>' \
  "actor-framework-$version/libcaf_io/caf/io/network/receive_buffer.hpp"

echo "build-caf-tsan: building CAF $version with ThreadSanitizer into $prefix" >&2
generator=()
if command -v ninja >/dev/null; then generator=(-G Ninja); fi
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
# Same configuration as Debian's libcaf-dev (memory management on, log level
# quiet), so meshrt's code compiled against either sees the same CAF.
cmake -S "actor-framework-$version" -B build "${generator[@]}" "${launcher[@]}" \
  -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=thread" -DCMAKE_INSTALL_PREFIX="$prefix" \
  -DCMAKE_INSTALL_LIBDIR=lib \
  -DCAF_NO_EXAMPLES=yes -DCAF_NO_TOOLS=yes -DCAF_NO_UNIT_TESTS=yes -DCAF_NO_OPENSSL=yes \
  -DCAF_NO_OPENCL=yes -DCAF_NO_PYTHON=yes -DCAF_NO_SUMMARY=yes >configure.log
cmake --build build -j "$(nproc)" >build.log
cmake --install build >install.log
echo "$want" >"$stamp"
cd / && rm -rf "$work"
