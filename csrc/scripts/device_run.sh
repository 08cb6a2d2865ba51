#!/usr/bin/env bash
# One whole device call: build the shipped configuration (one kernel path per architecture),
# correctness suite, compute-sanitizer on the small case, SASS summary, benchmark, PyTorch SDPA
# anchors; tables printed last. Unless --no-variants, a second build with -DSF_KERNEL_VARIANTS=ON
# tests the comparison kernels through SF_KERNEL, among them the sm_80 (mma.sync) path, which an
# H100/H200 otherwise never runs.
# Run from the repo root:
#   NCCL_NVLS_ENABLE=0 NVSHMEM_DISABLE_NVLS=1 bash csrc/scripts/device_run.sh [--no-test] [--no-bench] [--no-torch] [--no-variants] [--prebuilt=DIR[:VDIR]]
set -u
export NCCL_NVLS_ENABLE=0 NVSHMEM_DISABLE_NVLS=1 PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/sfout}; mkdir -p "$OUT"
L=/tmp/sflogs; rm -rf $L; mkdir -p $L
B=/tmp/sfb    # shipped configuration
BV=/tmp/sfbv  # + comparison variants (SF_KERNEL)
DO_TEST=1; DO_BENCH=1; DO_TORCH=1; DO_VARIANTS=1; PREBUILT=""
for a in "$@"; do case $a in --no-test) DO_TEST=0;; --no-bench) DO_BENCH=0;; --no-torch) DO_TORCH=0;; --no-variants) DO_VARIANTS=0;;
  --prebuilt=*) PREBUILT=${a#--prebuilt=};; esac; done
# --prebuilt=DIR[:VDIR]: sf_test and libstreamfusion.so built on the development machine (same nvcc) in DIR (and the
# variants build in VDIR): nothing is compiled here.
if [ -n "$PREBUILT" ]; then B=${PREBUILT%%:*}; case $PREBUILT in *:*) BV=${PREBUILT#*:};; *) DO_VARIANTS=0;; esac; fi
finish() { tar czf $OUT/logs.tgz -C /tmp sflogs 2>/dev/null; }
trap finish EXIT
date -u; nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu --format=csv
t0=$(date +%s)
if [ -z "$PREBUILT" ]; then
cmake -S csrc -B $B -DCMAKE_BUILD_TYPE=Release -DSF_PTXAS_VERBOSE=ON > $L/cmake.log 2>&1 &&
  cmake --build $B -j16 > $L/build.log 2>&1 || { echo BUILD FAILED; tail -40 $L/build.log; exit 1; }
echo "build (shipped): $(( $(date +%s) - t0 )) s"
fi
if [ $DO_VARIANTS = 1 ] && [ -z "$PREBUILT" ]; then
  cmake -S csrc -B $BV -DCMAKE_BUILD_TYPE=Release -DSF_KERNEL_VARIANTS=ON > $L/cmake_variants.log 2>&1 &&
    cmake --build $BV -j16 > $L/build_variants.log 2>&1 || { echo VARIANTS BUILD FAILED; tail -40 $L/build_variants.log; exit 1; }
  echo "build (variants): $(( $(date +%s) - t0 )) s"
fi
cuobjdump -sass $B/libstreamfusion.so > $L/sass.txt 2>/dev/null
awk '/Function :/{f=$3} /HGMMA/{g[f]++} /HMMA/{m[f]++} /LDL|STL/{l[f]++} END{for(k in g) print "HGMMA",g[k],k; for(k in m) print "HMMA",m[k],k; for(k in l) print "LDL/STL",l[k],k}' $L/sass.txt | sort > $OUT/sass_summary.txt
grep -c . $OUT/sass_summary.txt >/dev/null && echo "SASS: $(grep -c '^HGMMA' $OUT/sass_summary.txt) kernels with HGMMA, $(grep -c '^HMMA' $OUT/sass_summary.txt) with HMMA, $(grep -c '^LDL' $OUT/sass_summary.txt) with local memory"
if [ $DO_TEST = 1 ]; then
  (timeout 300 $B/sf_test --test > $L/ctest.log 2>&1; echo "sf_test --test (shipped path, full suite) rc=$?: $(grep -E 'FAILED:|ALL PASSED' $L/ctest.log | tr '\n' ' ')"; grep FAIL $L/ctest.log | head -20)
  timeout 200 compute-sanitizer --tool memcheck --error-exitcode 9 $B/sf_test --small > $L/memcheck.log 2>&1
  echo "memcheck (shipped path) rc=$? : $(grep -E 'ERROR SUMMARY|ALL PASSED|FAILED' $L/memcheck.log | tr '\n' ' ')"
  if [ $DO_VARIANTS = 1 ]; then
    for k in ${SF_TEST_SMALL:-ws_pipe_pp ws ws_pp ws_pipe wgmma wgmma_nopipe}; do
      SF_KERNEL=$k timeout 60 $BV/sf_test --small > $L/small_$k.log 2>&1; rc=$?
      echo "SF_KERNEL=$k small suite rc=$rc: $(tail -1 $L/small_$k.log)"; grep FAIL $L/small_$k.log | head -10
      if [ $rc = 124 ]; then echo "HANG in SF_KERNEL=$k: stopping"; tail -5 $L/small_$k.log; exit 1; fi
    done
    for k in ${SF_TEST_FULL:-mma}; do
      SF_KERNEL=$k timeout 150 $BV/sf_test --test > $L/test_$k.log 2>&1; echo "SF_KERNEL=$k full suite rc=$?: $(tail -1 $L/test_$k.log)"; grep FAIL $L/test_$k.log | head -10
    done
    SF_KERNEL=mma timeout 200 compute-sanitizer --tool memcheck --error-exitcode 9 $BV/sf_test --small > $L/memcheck_mma.log 2>&1
    echo "memcheck SF_KERNEL=mma rc=$? : $(grep -E 'ERROR SUMMARY|ALL PASSED|FAILED' $L/memcheck_mma.log | tr '\n' ' ')"
  fi
fi
if [ $DO_BENCH = 1 ]; then
  if [ $DO_VARIANTS = 1 ]; then
    for k in ${SF_BENCH_ALSO:-}; do
      SF_KERNEL=$k SF_BENCH_QUICK=1 timeout 60 $BV/sf_test --bench $L/bench_$k.csv 2>&1 | sed "s/^/[$k] /"
    done
  fi
  timeout 120 $B/sf_test --bench-waves $OUT/sf_waves.csv 2>&1 | tee $L/bench_waves.log
  timeout 200 $B/sf_test --bench $OUT/sf_bench.csv 2>&1 | tee $L/bench.log
  if [ $DO_TORCH = 1 ]; then
    python3 csrc/bench/sdpa_anchor.py $OUT/sf_bench.csv $OUT/all_bench.csv 2>&1 | tee $L/anchor.log
  fi
fi
nvidia-smi --query-gpu=clocks.sm,temperature.gpu,power.draw --format=csv
echo "total: $(( $(date +%s) - t0 )) s"
