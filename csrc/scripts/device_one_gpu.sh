#!/usr/bin/env bash
# One device call for the in-process world (docs/one-gpu-world.md): every mesh of the six topologies on one GPU.
#   1. check attention through launch --one-gpu: 1x2 2x1 2x2 1x4 4x1 2x4, BF16 and F16, S = N*256+1, FP8 both ways
#      between machines
#   0. check communicator (4 ranks): every primitive for exact bytes; check graphs on 2x2 (the world's one graph per
#      captured layer, bit-identical to the eager layer), again in the relaxed capture mode if it fails
#   2. check joint (2 and 4 ranks), caller-tensors (2), qkv-exchange (1x2), emulated-link (2x2)
#   3. the gpu-tagged OneGpuWorld*GpuTest and CudaWorldGpuTest classes through the bundle's JUnit launcher (JUNIT_CLASSES
#      narrows them: the same checks as stages 1-2 run again inside OneGpuWorldGpuTest)
# MESHES narrows or reorders stage 1's topologies (default: all six).
# QUICK=1: communicator, two meshes, then every gpu-tagged test of the bundle, for a short call.
# Each stage is skipped once the call has run past BUDGET_S seconds. Logs under $OUT.
# Run from the repository root: bash csrc/scripts/device_one_gpu.sh
set -u
export NCCL_NVLS_ENABLE=0 NVSHMEM_DISABLE_NVLS=1
OUT=${OUT:-/tmp/sfout}; mkdir -p "$OUT"
BUDGET_S=${BUDGET_S:-480}
t0=$(date +%s)
left() { [ $(( $(date +%s) - t0 )) -lt "$BUDGET_S" ] || { echo "== skipped (past ${BUDGET_S} s): $1"; return 1; }; }
date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
mkdir -p /tmp/sfbundle && tar -C /tmp/sfbundle -xzf .bundle/streamfusion.tar.gz
SF=/tmp/sfbundle/streamfusion/bin/streamfusion
one() { # name timeout nproc args...
  local name=$1 limit=$2 n=$3; shift 3
  left "$name" || return 0
  local s=$(date +%s)
  timeout "$limit" "$SF" launch --one-gpu --nproc "$n" "$@" > "$OUT/$name.log" 2>&1; local rc=$?
  echo "$name: exit $rc, $(( $(date +%s) - s )) s, $(grep -c 'PASS rank' "$OUT/$name.log") PASS lines"
  [ $rc = 0 ] || grep -E "FAIL|Exception|Error|refused|launch:" "$OUT/$name.log" | head -12
}
one communicator-4 90 4 check communicator
one graphs-2x2 240 4 check graphs --topology 2x2 -S 1025 -H 8 -D 64 --reps 2 --replays 50
if [ "$(grep -c 'PASS rank' "$OUT/graphs-2x2.log" 2>/dev/null)" != 4 ]; then
  ( export STREAMFUSION_JAVA_OPTS=-Dstreamfusion.worldCaptureMode=relaxed
    one graphs-2x2-relaxed 240 4 check graphs --topology 2x2 -S 1025 -H 8 -D 64 --reps 2 --replays 50 )
fi
if [ "${QUICK:-0}" = 1 ]; then
  # One short call: two meshes directly, then every gpu-tagged test of the bundle (the world's and the rest).
  one attention-2x2-BF16 120 4 check attention --topology 2x2 -S 1025 -H 8 -D 64 --reps 1 --dtype BF16 --compression both
  one attention-2x4-F16 120 8 check attention --topology 2x4 -S 2049 -H 8 -D 64 --reps 1 --dtype F16
  if left "junit"; then
    timeout 330 "$SF" test --include-tag gpu > "$OUT/junit-gpu.log" 2>&1; echo "junit rc=$?"
    grep -E "tests (successful|failed|aborted)|✘" "$OUT/junit-gpu.log" | head -30
  fi
  echo "total: $(( $(date +%s) - t0 )) s"; exit 0
fi
for t in ${MESHES:-1x2 2x1 2x2 1x4 4x1 2x4}; do
  n=$(( ${t%x*} * ${t#*x} ))
  comp=""; [ "${t%x*}" != 1 ] && comp="--compression both"
  for dt in BF16 F16; do
    one "attention-$t-$dt" 120 "$n" check attention --topology "$t" -S $((256 * n + 1)) -H 8 -D 64 --reps 1 --dtype "$dt" $comp
  done
done
grep -h -A40 "method (mesh)" "$OUT/attention-2x4-BF16.log" | head -60
one joint-2 120 2 check joint -S 2049 --text 300 -H 8 -D 128
# Every rank of a world computes the float64 reference on the host: S=4097 took longer than 90 s on 4 ranks.
one joint-4 180 4 check joint -S 2049 --text 300 -H 8 -D 128
one caller-tensors-2 120 2 check caller-tensors -S 2048 -H 8 -D 128 --dtype BF16
one qkv-exchange-1x2 120 2 check qkv-exchange --topology 1x2 -S 2049 -H 8 -D 128 --reps 1
one emulated-link-2x2 150 4 check emulated-link --topology 2x2
if left "junit"; then
  timeout 300 "$SF" test --include-tag gpu --include-classname "${JUNIT_CLASSES:-.*(OneGpuWorld|CudaWorld).*}" > "$OUT/junit-one-gpu.log" 2>&1; echo "junit rc=$?"
  grep -E "tests (successful|failed|aborted)|✘" "$OUT/junit-one-gpu.log" | head -20
fi
echo "total: $(( $(date +%s) - t0 )) s"
