#!/usr/bin/env bash
# Profile one D=128, S=16384 launch of each wgmma variant with Nsight Compute (clocks left alone).
# Builds with -DSF_KERNEL_VARIANTS=ON so that SF_KERNEL selects the variant (default = the shipped path).
#   NCCL_NVLS_ENABLE=0 NVSHMEM_DISABLE_NVLS=1 bash csrc/scripts/device_ncu.sh
set -u
export NCCL_NVLS_ENABLE=0 NVSHMEM_DISABLE_NVLS=1
OUT=${OUT:-/tmp/sfout}; mkdir -p "$OUT"
B=/tmp/sfbv
cmake -S csrc -B $B -DCMAKE_BUILD_TYPE=Release -DSF_KERNEL_VARIANTS=ON > /dev/null 2>&1 && cmake --build $B -j16 > /dev/null 2>&1 || { echo BUILD FAILED; exit 1; }
for k in ${SF_NCU_KERNELS:-default wgmma_nopipe}; do
  # quick bench order: D=64 single (34 launches), D=64 4q2kv (34), then D=128 single
  SF_KERNEL=$k SF_BENCH_QUICK=1 ncu --clock-control none -k regex:fused_attention --launch-skip 68 --launch-count 1 \
    --section SpeedOfLight --section WarpStateStats --section SchedulerStats --section ComputeWorkloadAnalysis \
    --section MemoryWorkloadAnalysis --section Occupancy --section InstructionStats \
    $B/sf_test --bench /tmp/ncu_$k.csv > $OUT/ncu_$k.txt 2>&1
  echo "=== $k"; grep -E "Duration|Compute \(SM\) Throughput|Memory Throughput|L2 Cache Throughput|Executed Ipc Active|Issue Slots Busy|No Eligible|Warp Cycles Per Issued|Stall|Registers Per|Achieved Occupancy|Theoretical Occupancy|Shared Memory Configuration|pipe" $OUT/ncu_$k.txt | head -40
done
