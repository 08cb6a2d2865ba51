#!/usr/bin/env bash
# Builds libstreamfusion.so from ../csrc with CMake and copies it where the jar picks it up.
# Called by the Maven build of streamfusion-cuda (exec-maven-plugin, phase process-resources).
#   $1 mode: auto (build when nvcc is on the PATH and csrc has a CMakeLists.txt) | skip
#   $2 csrc dir   $3 cmake build dir   $4 output dir (…/classes/META-INF/native/<platform>)
set -euo pipefail
mode=$1 csrc=$2 build=$3 out=$4
say() { echo "[streamfusion-cuda] $*"; }
# A skipped build must not leave an earlier build's library in the classes directory.
skip() { rm -f "$out/libstreamfusion.so"; say "native build SKIPPED: $*; the jar carries no libstreamfusion.so"; exit 0; }
if [[ $mode == skip ]]; then
  skip "streamfusion.native.build=skip"
fi
if ! command -v nvcc >/dev/null 2>&1; then
  skip "nvcc is not on the PATH"
fi
if [[ ! -f $csrc/CMakeLists.txt ]]; then
  skip "$csrc/CMakeLists.txt does not exist"
fi
if ! command -v cmake >/dev/null 2>&1; then
  say "native build FAILED: nvcc is on the PATH but cmake is not"
  exit 1
fi
say "building $csrc with CMake ($(nvcc --version | tail -1))"
gen=()
command -v ninja >/dev/null 2>&1 && gen=(-G Ninja)
cmake -S "$csrc" -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" --target streamfusion --parallel
lib=$(find "$build" -name 'libstreamfusion.so' -print -quit)
if [[ -z $lib ]]; then
  lib=$(find "$build" -name 'libstreamfusion.so*' -type f -print -quit)
fi
if [[ -z $lib ]]; then
  say "native build FAILED: CMake finished but produced no libstreamfusion.so under $build"
  exit 1
fi
mkdir -p "$out"
cp -L "$lib" "$out/libstreamfusion.so"
say "packaged $(readlink -f "$lib") as $out/libstreamfusion.so"
