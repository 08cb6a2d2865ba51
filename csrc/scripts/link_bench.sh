#!/usr/bin/env bash
# The emulated-link check on one GPU (csrc/bench/link_bench.cu), one command from the repository root:
#   bash csrc/scripts/link_bench.sh          # prints the tables; the log also goes to $OUT/link_bench.log
# Builds the bench and the library's sf_link.cu / sf_status.cpp with nvcc directly (no CMake).
set -u
OUT=${OUT:-/tmp/sfout}; mkdir -p "$OUT"
B=${B:-/tmp/sf_link_bench}; mkdir -p "$B"
NVCC=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
"$NVCC" -O2 -std=c++17 -gencode=arch=compute_90a,code=sm_90a -gencode=arch=compute_80,code=sm_80 \
  -Icsrc/include -Icsrc/src csrc/bench/link_bench.cu csrc/src/sf_link.cu csrc/src/sf_status.cpp \
  -o "$B/link_bench" > "$OUT/link_bench_build.log" 2>&1 || { echo "BUILD FAILED"; cat "$OUT/link_bench_build.log"; exit 1; }
{ date -u; nvidia-smi --query-gpu=name,driver_version,clocks.sm --format=csv,noheader 2>/dev/null; } > "$OUT/link_bench.log" 2>&1
"$B/link_bench" 2>&1 | tee -a "$OUT/link_bench.log"
rc=${PIPESTATUS[0]}
echo "link_bench exit $rc" | tee -a "$OUT/link_bench.log"
exit "$rc"
