#!/usr/bin/env bash
# Assembles the self-contained GPU test bundle (profile gpu-bundle of streamfusion-native):
#   <target>/bundle/streamfusion-gpu/{runtime/ (jlink'd JDK 25), lib/*.jar, run-tests.sh}
#   <target>/bundle/streamfusion-gpu.tar.gz
# Args: $1 JDK 25 home (jlink from its run-time image; it has no jmods)  $2 target dir  $3 version
set -euo pipefail
jdk=$1 target=$2 version=$3
say() { echo "[gpu-bundle] $*"; }
out=$target/bundle/streamfusion-gpu
rm -rf "$out" "$target/bundle/streamfusion-gpu.tar.gz"
mkdir -p "$out/lib"
"$jdk/bin/java" -version 2>&1 | grep -q '"25' || { say "$jdk is not a JDK 25"; exit 1; }
# java.base + java.logging (JUnit) + jdk.zipfs (JUnit scans the tests jar as a file system)
# + jdk.unsupported: what the launcher and the tests touch.
"$jdk/bin/jlink" --add-modules java.base,java.logging,jdk.zipfs,jdk.unsupported \
  --strip-debug --no-man-pages --no-header-files --compress=zip-9 --output "$out/runtime"
cp "$target/streamfusion-native-$version.jar" "$out/lib/streamfusion-native.jar"
cp "$target/streamfusion-native-$version-tests.jar" "$out/lib/streamfusion-native-tests.jar"
cp "$target/bundle/deps/streamfusion-bindings-$version.jar" "$out/lib/streamfusion-bindings.jar"
cp "$target/bundle/deps/"junit-platform-console-standalone-*.jar "$out/lib/junit-platform-console-standalone.jar"
install -m 755 "$(dirname "$0")/run-tests.sh" "$out/run-tests.sh"
listing=$(unzip -l "$out/lib/streamfusion-native.jar")
if [[ $listing == *META-INF/native/*/libstreamfusion.so* ]]; then
  say "libstreamfusion.so is in the jar"
else
  say "WARNING: the jar carries no libstreamfusion.so (built without nvcc?)"
fi
tar -C "$target/bundle" -czf "$target/bundle/streamfusion-gpu.tar.gz" streamfusion-gpu
say "unpacked: $(du -sb "$out" | cut -f1) bytes in $out"
say "archive:  $(stat -c %s "$target/bundle/streamfusion-gpu.tar.gz") bytes in $target/bundle/streamfusion-gpu.tar.gz"
