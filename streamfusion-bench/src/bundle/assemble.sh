#!/usr/bin/env bash
# Assembles the self-contained GPU bundle (profile gpu-bundle of streamfusion-bench):
#   <target>/bundle/streamfusion/{runtime/ (jlink'd JDK 25), lib/*.jar, bin/streamfusion}
#   <target>/bundle/streamfusion.tar.gz
# Args: $1 JDK 25 home (jlink links from its run-time image; it has no jmods)  $2 target dir  $3 version
set -euo pipefail
jdk=$1 target=$2 version=$3
say() { echo "[gpu-bundle] $*"; }
out=$target/bundle/streamfusion
rm -rf "$out" "$target/bundle/streamfusion.tar.gz"
mkdir -p "$out/lib" "$out/bin"
"$jdk/bin/java" -version 2>&1 | grep -q '"25' || { say "$jdk is not a JDK 25"; exit 1; }
# java.base + java.logging (JUnit) + jdk.zipfs (JUnit scans jars as file systems) + jdk.unsupported
# + java.management and jdk.management (JMH) + java.desktop (the sweep report's PNGs, headless AWT)
# + java.sql (Commons CSV, the sweep CSV, requires it) + jdk.jfr (the library's per-layer Flight Recorder event):
# what the runner, the tests and JMH touch.
"$jdk/bin/jlink" --add-modules java.base,java.logging,jdk.zipfs,jdk.unsupported,java.management,jdk.management,java.desktop,java.sql,jdk.jfr,jdk.incubator.vector \
  --strip-debug --no-man-pages --no-header-files --compress=zip-9 --output "$out/runtime"
# Fonts: without them a host lacking fontconfig fonts cannot draw a chart label (see fontconfig.properties).
fonts=$target/bundle/fonts/net/sf/jasperreports/fonts/dejavu
mkdir -p "$out/runtime/lib/fonts"
cp "$fonts/DejaVuSans.ttf" "$fonts/DejaVuSans-Bold.ttf" "$out/runtime/lib/fonts/"
cp "$fonts/LICENSE" "$out/runtime/lib/fonts/DejaVu-LICENSE"
cp "$(dirname "$0")/fontconfig.properties" "$out/runtime/lib/fontconfig.properties"
cp "$target/bundle/deps/"*.jar "$out/lib/"
cp "$target/streamfusion-bench-$version.jar" "$out/lib/streamfusion-bench.jar"
cp "$target/streamfusion-bench-$version-tests.jar" "$out/lib/streamfusion-bench-tests.jar"
cp "$target/benchmarks.jar" "$out/lib/benchmarks.jar"
install -m 755 "$(dirname "$0")/streamfusion" "$out/bin/streamfusion"
# The licence, the notices and the third-party licence texts travel at the bundle's root; every jar must be
# named in the notices (a new dependency without its licence listed fails the bundle).
root=$(cd "$(dirname "$0")/../../.." && pwd)
cp "$root/LICENSE" "$root/NOTICE" "$root/THIRD-PARTY-NOTICES.md" "$out/"
cp -r "$root/licenses" "$out/licenses"
for jar in "$out"/lib/*.jar; do
  name=$(basename "$jar" .jar)
  grep -q "\`lib/${name%-tests}\`" "$root/THIRD-PARTY-NOTICES.md" \
    || { say "lib/$name.jar is not listed in THIRD-PARTY-NOTICES.md: add its licence there"; exit 1; }
done
native=$(ls "$out"/lib/streamfusion-native-*.jar 2>/dev/null | head -1)
if [[ -n $native && $(unzip -l "$native") == *META-INF/native/*/libstreamfusion.so* ]]; then
  say "libstreamfusion.so is in $(basename "$native")"
else
  say "WARNING: no platform jar with libstreamfusion.so in lib/ (built without nvcc?)"
fi
tar -C "$target/bundle" -czf "$target/bundle/streamfusion.tar.gz" streamfusion
say "unpacked: $(du -sb "$out" | cut -f1) bytes in $out"
say "archive:  $(stat -c %s "$target/bundle/streamfusion.tar.gz") bytes in $target/bundle/streamfusion.tar.gz"
