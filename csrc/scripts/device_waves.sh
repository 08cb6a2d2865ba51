#!/usr/bin/env bash
# One device call for the split-KV schedule (docs/kernels.md, "Waves"), most important first, each stage
# skipped once the call has run past BUDGET_S seconds:
#   1. sf_test --test (every suite, the split suites included), prebuilt here: .bundle/csrc/{sf_test,libstreamfusion.so}
#   2. sf_test --bench-waves: per-rank launches of 1xN shards, split against unsplit, alternating
#   3. cuDNN SDPA on the whole layer (S = 4608, 16896), then KernelFloorCheck of 1x2 / 1x4 at 4608 and 1x2 at 16896
#      through the bundle (.bundle/streamfusion.tar.gz)
#   4. compute-sanitizer memcheck on sf_test --small
#   5. the bundle's gpu-tagged JUnit tests (streamfusion test --include-tag gpu); JAVA_GPU_TESTS=0 leaves them out
#   6. sf_test --bench (S = 16384, 65536; D = 64, 128) and the SDPA anchors of csrc/bench/sdpa_anchor.py
# Logs under $OUT. Run from the repository root: bash csrc/scripts/device_waves.sh
set -u
export NCCL_NVLS_ENABLE=0 NVSHMEM_DISABLE_NVLS=1 PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/sfout}; mkdir -p "$OUT"
BUDGET_S=${BUDGET_S:-420}
B=/tmp/sfb; mkdir -p $B && cp .bundle/csrc/sf_test .bundle/csrc/libstreamfusion.so $B/
export LD_LIBRARY_PATH=$B
t0=$(date +%s)
left() { [ $(( $(date +%s) - t0 )) -lt "$BUDGET_S" ] || { echo "== skipped (past ${BUDGET_S} s): $1"; return 1; }; }
date -u; nvidia-smi --query-gpu=name,driver_version,clocks.sm,temperature.gpu --format=csv,noheader
echo "== 1. sf_test --test"
timeout 240 $B/sf_test --test > "$OUT/test.log" 2>&1; echo "rc=$? $(tail -1 "$OUT/test.log")"
grep -E "FAIL|some launches split|counter back|bit-identical" "$OUT/test.log" | head -20
left "bench-waves" && { echo "== 2. sf_test --bench-waves"; timeout 150 $B/sf_test --bench-waves /tmp/waves.csv 2>&1 | tee "$OUT/waves.log"; }
if left "floors"; then
  mkdir -p /tmp/sfbundle && tar -C /tmp/sfbundle -xzf .bundle/streamfusion.tar.gz
  SF=/tmp/sfbundle/streamfusion/bin/streamfusion
  for a in "1x2 4608 24 128 20" "1x4 4608 24 128 20" "1x2 16896 24 128 10"; do
    left "floor $a" || break
    read -r _ fs fh fd _ <<< "$a"
    echo "== 3. cuDNN SDPA S=$fs, then KernelFloorCheck $a"
    timeout 100 python3 streamfusion-bench/src/python/layer_anchor.py "$fs" "$fh" "$fd" 2>&1 | tail -1
    log="$OUT/floor-$(echo "$a" | tr ' ' _).log"
    read -r ft _ _ _ fr <<< "$a"
    timeout 150 "$SF" launch --nproc 1 check kernel-floor --topology "$ft" -S "$fs" -H "$fh" -D "$fd" --reps "$fr" > "$log" 2>&1; echo "exit $?"
    grep -E "^\[rank 0\]|FAIL|Exception" "$log" | grep -v "timed: " | head -24
  done
fi
left "memcheck" && { echo "== 4. memcheck"; timeout 200 compute-sanitizer --tool memcheck --error-exitcode 9 $B/sf_test --small > "$OUT/memcheck.log" 2>&1; echo "rc=$? $(grep -E 'ERROR SUMMARY|ALL PASSED|FAILED' "$OUT/memcheck.log" | tr '\n' ' ')"; }
if [ "${JAVA_GPU_TESTS:-1}" = 1 ] && left "java gpu tests"; then
  echo "== 5. the bundle's gpu-tagged JUnit tests on this GPU"
  [ -x "${SF:-}" ] || { mkdir -p /tmp/sfbundle && tar -C /tmp/sfbundle -xzf .bundle/streamfusion.tar.gz; SF=/tmp/sfbundle/streamfusion/bin/streamfusion; }
  timeout 240 "$SF" test --include-tag gpu > "$OUT/java-gpu-tests.log" 2>&1; echo "rc=$?"
  grep -E "tests (successful|failed|aborted|skipped)|✘|MethodSource" "$OUT/java-gpu-tests.log" | grep -v "✔" | head -30
fi
if left "bench"; then
  echo "== 6. sf_test --bench and SDPA anchors"
  timeout 150 $B/sf_test --bench "$OUT/bench.csv" 2>&1 | tail -9
  timeout 150 python3 csrc/bench/sdpa_anchor.py "$OUT/bench.csv" /tmp/all_bench.csv 2>&1 | tail -10
fi
nvidia-smi --query-gpu=clocks.sm,temperature.gpu,power.draw --format=csv,noheader
echo "total: $(( $(date +%s) - t0 )) s"
