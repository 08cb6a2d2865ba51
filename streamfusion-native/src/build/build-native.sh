#!/usr/bin/env bash
# Builds libstreamfusion.so from ../csrc with CMake, puts it where the platform jar picks it up, and records
# its SHA-256 beside it (the loader checks every extracted copy against that record before loading it).
# Called by the Maven build of streamfusion-native (exec-maven-plugin, phase compile).
#   $1 mode: auto (build when nvcc is on the PATH, else package nothing and say so)
#            | skip (never) | require (release: fail when the library cannot be built)
#   $2 platform (linux-x86_64, linux-aarch64; "unsupported" elsewhere)
#   $3 csrc dir   $4 cmake build dir   $5 classes dir (the library goes to META-INF/native/<platform>/)
set -euo pipefail
mode=$1 platform=$2 csrc=$3 build=$4 classes=$5
out=$classes/META-INF/native/$platform
say() { echo "[streamfusion-native] $*"; }
fail() { say "native build FAILED: $*"; exit 1; }
# A skipped build must not leave an earlier build's library in the classes directory.
skip() {
  rm -rf "$classes/META-INF/native"
  [[ $mode == require ]] && fail "$* (a release build needs libstreamfusion.so for $platform in the platform jar)"
  say "native build SKIPPED: $*; the $platform jar carries no libstreamfusion.so"
  exit 0
}
case $mode in
  auto | require) ;;
  skip) skip "streamfusion.native.build=skip" ;;
  *) fail "streamfusion.native.build=$mode; expected auto, skip or require" ;;
esac
# The build host's platform must be the one Maven named the jar for (profiles platform-* in the parent POM).
host="$(uname -s | tr '[:upper:]' '[:lower:]')-$(uname -m | sed 's/^amd64$/x86_64/; s/^arm64$/aarch64/')"
[[ $platform == "$host" ]] || skip "the build host is $host, for which no platform jar is defined (got $platform)"
command -v nvcc >/dev/null 2>&1 || skip "nvcc is not on the PATH"
[[ -f $csrc/CMakeLists.txt ]] || skip "$csrc/CMakeLists.txt does not exist"
command -v cmake >/dev/null 2>&1 || fail "nvcc is on the PATH but cmake is not"
say "building $csrc for $platform with CMake ($(nvcc --version | tail -1))"
gen=()
command -v ninja >/dev/null 2>&1 && gen=(-G Ninja)
cmake -S "$csrc" -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" --target streamfusion --parallel
lib=$(find "$build" -name 'libstreamfusion.so' -print -quit)
[[ -n $lib ]] || lib=$(find "$build" -name 'libstreamfusion.so*' -type f -print -quit)
[[ -n $lib ]] || fail "CMake finished but produced no libstreamfusion.so under $build"
mkdir -p "$out"
cp -L "$lib" "$out/libstreamfusion.so"
# The recorded hash: one lowercase hex line, read by org.streamfusion.cuda.loader.BundledLibrary.
sha256sum "$out/libstreamfusion.so" | cut -d' ' -f1 > "$out/libstreamfusion.so.sha256"
say "packaged $(readlink -f "$lib") as $out/libstreamfusion.so (sha256 $(cat "$out/libstreamfusion.so.sha256"))"
