#!/usr/bin/env bash
# One device call, from the repository root of a GPU host, with the bundle tarball at .bundle/:
# the gpu-tagged tests, the attention check of every mesh, all-to-all bandwidth from Java against
# PyTorch's all_to_all_single, and the downcall overhead from Java (JMH) against C. Logs go to $OUT.
#   STAGES="csrc cpu gpu1 gpuN nodes2 check big a2a downcall"  which parts to run (default: these);
#                                                      also: graphs, hosttime, qkv, floor, sweep (only when named)
#   ATTN / ATTN_BIG                                    the options of `check attention` (--topology, -S, -H, -D, --reps, ...)
#   BIG_MOVERS="sm-kernel/copy-engine ..."             push/pull mover pairs of the Flux-sized timing
#   GRAPH_ARGS                                         the options of `check graphs` (stage graphs)
#   HOSTTIME_ARGS                                      GpuHostTimeBenchmark's -p parameters (stage hosttime)
#   QKV_ARGS                                           the options of `check qkv-exchange` (stage qkv; several, ';'-separated)
#   FLOOR_ARGS                                         the options of `check kernel-floor` (stage floor; several, ';'-separated)
#   SWEEP_ARGS                                         the sweep's arguments (stage sweep; default below)
# csrc: with .bundle/csrc/sf_test (built on the development machine, next to its libstreamfusion.so) it
# runs that; otherwise it builds csrc here first.
set -uo pipefail
OUT=${OUT:-/tmp/sf-out}
mkdir -p "$OUT" /tmp/sfb
export NCCL_NVLS_ENABLE=0 NVSHMEM_DISABLE_NVLS=1
# One host: NVSHMEM bootstraps over loopback and needs no network transport.
export NVSHMEM_BOOTSTRAP_UID_SOCK_IFNAME=${NVSHMEM_BOOTSTRAP_UID_SOCK_IFNAME:-lo}
export NVSHMEM_REMOTE_TRANSPORT=${NVSHMEM_REMOTE_TRANSPORT:-none}
tar -C /tmp/sfb -xzf .bundle/streamfusion.tar.gz
SF=/tmp/sfb/streamfusion/bin/streamfusion
N=$(nvidia-smi -L | wc -l)
echo "== $(date -u +%FT%TZ) $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | sort | uniq -c)"
# The same NCCL as the PyTorch anchor (its wheel's), so that the comparison is of the callers only.
if [ -z "${STREAMFUSION_NCCL_PATH:-}" ]; then
  nccl=$(python3 -c 'import os, nvidia.nccl as m; print(os.path.join(list(m.__path__)[0], "lib", "libnccl.so.2"))' 2>/dev/null || true)
  [ -f "$nccl" ] && export STREAMFUSION_NCCL_PATH=$nccl
fi
echo "== NCCL for Java: ${STREAMFUSION_NCCL_PATH:-system libnccl.so.2}"
# opt NAME DEFAULT WORDS...: the value that follows NAME in WORDS (a check's options), else DEFAULT.
opt() { local name=$1 value=$2; shift 2; while [ $# -gt 1 ]; do [ "$1" = "$name" ] && value=$2; shift; done; echo "$value"; }
has() { case " ${STAGES:=csrc cpu gpu1 gpuN nodes2 check big a2a downcall} " in *" $1 "*) return 0;; esac; return 1; }
if has csrc; then
  echo "== csrc: C++ correctness driver (sf_test --test)"
  if [ -x .bundle/csrc/sf_test ]; then
    (LD_LIBRARY_PATH=$PWD/.bundle/csrc timeout 200 .bundle/csrc/sf_test --test > "$OUT/ctest.log" 2>&1; echo "sf_test exit $?")
  else
    cmake -S csrc -B /tmp/sfc -DCMAKE_BUILD_TYPE=Release > "$OUT/csrc-cmake.log" 2>&1 && cmake --build /tmp/sfc -j16 > "$OUT/csrc-build.log" 2>&1 \
      && (cd /tmp/sfc && timeout 200 ctest --timeout 180 -V -R 'sf_correctness$' > "$OUT/ctest.log" 2>&1; echo "ctest exit $?")
  fi
  grep -E "segments|packed exact|FAIL|ALL PASSED|failure" "$OUT/ctest.log" | head -16
fi
if has cpu; then
  echo "== the CPU suite from the bundle"
  timeout 300 "$SF" test --exclude-tag gpu > "$OUT/tests-cpu.log" 2>&1; echo "exit $?"
  grep -E "✘|tests (successful|failed|aborted|skipped)" "$OUT/tests-cpu.log" | head -20
fi
if has gpu1; then
  echo "== gpu-tagged tests on 1 GPU"
  CUDA_VISIBLE_DEVICES=0 timeout 200 "$SF" test --include-tag gpu > "$OUT/gpu-tests-1gpu.log" 2>&1; echo "exit $?"
  grep -E "✘|↷|tests (successful|failed|aborted|skipped)" "$OUT/gpu-tests-1gpu.log" | head -20
fi
if has gpuN; then
  echo "== gpu-tagged tests on $N GPUs"
  timeout 400 "$SF" test --include-tag gpu > "$OUT/gpu-tests.log" 2>&1; echo "exit $?"
  grep -E "✘|tests (successful|failed|aborted|skipped)" "$OUT/gpu-tests.log" | head -20
fi
if has nodes2 && [ "$N" -ge 4 ]; then
  # The several-host path on one host: two launchers, each a "node" of 2 GPUs, meeting at rank 0's
  # store through --master-addr/--master-port (topology 2x2 = 2 machines of 2 GPUs).
  echo "== two launchers as two nodes (--nnodes 2, 2 GPUs each): check attention --topology 2x2 -S 2048 -H 8 -D 64 --reps 3"
  pids=""
  for node in 0 1; do
    CUDA_VISIBLE_DEVICES=$((2 * node)),$((2 * node + 1)) timeout 300 "$SF" launch --nproc 2 --nnodes 2 --node-rank $node \
      --master-addr localhost --master-port 29577 check attention --topology 2x2 -S 2048 -H 8 -D 64 --reps 3 \
      > "$OUT/nodes2-node$node.log" 2>&1 &
    pids="$pids $!"
  done
  for p in $pids; do wait "$p"; echo "node exit $?"; done
  grep -hE "PASS|FAIL|Exception|STREAMFUSION\(t=2" "$OUT"/nodes2-node*.log | head -12
fi
if has check; then
  echo "== attention check: check attention ${ATTN:=--topology 2x2 -S 8192 -H 8 -D 128 --reps 20}"
  # shellcheck disable=SC2086
  timeout 300 "$SF" launch --nproc "$N" check attention $ATTN > "$OUT/gpucheck.log" 2>&1; echo "exit $?"
  grep -E "^\[rank 0\]|PASS|FAIL|Exception" "$OUT/gpucheck.log" | head -60
fi
if has big; then
  # push/pull movers: the defaults first, then each mover for both primitives.
  for movers in ${BIG_MOVERS:-sm-kernel/copy-engine sm-kernel/sm-kernel copy-engine/copy-engine}; do
    push=${movers%/*} pull=${movers#*/}
    echo "== layer timing, Flux-sized, push $push pull $pull: check attention ${ATTN_BIG:=--topology 2x2 -S 65536 -H 24 -D 128 --reps 10 --no-check}"
    # shellcheck disable=SC2086
    timeout 300 "$SF" launch --nproc "$N" --jvm-arg -Dstreamfusion.push=$push --jvm-arg -Dstreamfusion.pull=$pull \
      check attention $ATTN_BIG > "$OUT/gpucheck-big-$push-$pull.log" 2>&1; echo "exit $?"
    grep -E "^\[rank 0\]|FAIL|Exception" "$OUT/gpucheck-big-$push-$pull.log" | head -40
  done
fi
if has graphs; then
  # CUDA Graphs (docs/graphs.md): every method and mesh captured and replayed, bit-identical to eager;
  # eager vs replay layer time and host time; device/resident memory and threads over REPLAYS layers.
  echo "== CUDA graphs: check graphs ${GRAPH_ARGS:=--topology 1x$N -S 4608 -H 24 -D 128 --reps 20 --replays 10000}"
  # The anchor in the same call: one GPU's whole layer with cuDNN SDPA, timed the same way.
  # shellcheck disable=SC2086
  timeout 120 python3 streamfusion-bench/src/python/layer_anchor.py "$(opt -S 4608 $GRAPH_ARGS)" "$(opt -H 24 $GRAPH_ARGS)" \
    "$(opt -D 128 $GRAPH_ARGS)" 2>&1 | tee "$OUT/graphs-anchor.log" | tail -1
  # shellcheck disable=SC2086
  # A fixed, pre-touched heap: resident memory then grows only with native memory (GraphCheck judges it so).
  timeout 500 "$SF" launch --nproc "$N" --jvm-arg -Xms2g --jvm-arg -Xmx2g --jvm-arg -XX:+AlwaysPreTouch \
    check graphs $GRAPH_ARGS > "$OUT/graphs.log" 2>&1; echo "exit $?"
  grep -E "^\[rank 0\]|PASS|FAIL|Exception" "$OUT/graphs.log" | head -60
fi
if has hosttime; then
  echo "== host time per call from Java (JMH): forward vs graph replay, ${HOSTTIME_ARGS:=-p topology=1x1 -p method=USP -p mesh=1/1/1}"
  # shellcheck disable=SC2086
  timeout 300 "$SF" jmh-launch --nproc 1 org.openjdk.jmh.Main GpuHostTimeBenchmark $HOSTTIME_ARGS > "$OUT/jmh-hosttime.log" 2>&1; echo "exit $?"
  grep -E "^Benchmark|GpuHostTimeBenchmark\." "$OUT/jmh-hosttime.log" | tail -6
fi
if has qkv; then
  # Q, K, V in one grouped exchange against three (docs/graphs.md): bit-identity, then alternate bursts.
  IFS=';' read -ra qkv_runs <<< "${QKV_ARGS:=--topology 1x$N -S 4608 -H 24 -D 128 --reps 40;--topology 1x$N -S 16896 -H 24 -D 128 --reps 20}"
  for a in "${qkv_runs[@]}"; do
    echo "== grouped vs separate Q,K,V exchange: check qkv-exchange $a"
    log="$OUT/qkv-$(echo "$a" | tr -d '-' | tr ' ' _).log"
    # shellcheck disable=SC2086
    timeout 300 "$SF" launch --nproc "$N" check qkv-exchange $a > "$log" 2>&1; echo "exit $?"
    grep -E "^\[rank 0\]|FAIL|Exception" "$log" | head -24
  done
fi
if has floor; then
  # Each method's floor on a logical mesh from one GPU (docs/graphs.md): rank 0's kernels with the transfers
  # removed, next to one GPU's cuDNN SDPA on the whole layer.
  IFS=';' read -ra floor_runs <<< "${FLOOR_ARGS:=--topology 1x2 -S 4608 -H 24 -D 128 --reps 20;--topology 1x2 -S 16896 -H 24 -D 128 --reps 10}"
  for a in "${floor_runs[@]}"; do
    # shellcheck disable=SC2086
    fs=$(opt -S 4608 $a) fh=$(opt -H 24 $a) fd=$(opt -D 128 $a)
    echo "== cuDNN SDPA on one GPU, S=$fs H=$fh D=$fd"
    timeout 120 python3 streamfusion-bench/src/python/layer_anchor.py "$fs" "$fh" "$fd" 2>&1 | tail -1
    echo "== floors: check kernel-floor $a"
    log="$OUT/floor-$(echo "$a" | tr -d '-' | tr ' ' _).log"
    # shellcheck disable=SC2086
    timeout 300 "$SF" launch --nproc 1 check kernel-floor $a > "$log" 2>&1; echo "exit $?"
    grep -E "^\[rank 0\]|FAIL|Exception" "$log" | grep -v "timed: " | head -30
  done
fi
if has a2a; then
  # Java, PyTorch, Java again: the anchor sits between two Java runs of each mover.
  for round in 1 2; do
    for mover in sm-kernel copy-engine; do
      echo "== all-to-all, Java, ScatterPush by $mover (round $round)"
      timeout 200 "$SF" launch --nproc "$N" --jvm-arg -Dstreamfusion.push=$mover check all-to-all --mib 64,256 --reps 20 \
        > "$OUT/a2a-java-$mover-$round.log" 2>&1
      echo "exit $?"; grep -E "^\[rank 0\]|FAIL|Exception" "$OUT/a2a-java-$mover-$round.log" | head -20
    done
    if [ $round = 1 ]; then
      echo "== all-to-all, PyTorch (same machine, same call)"
      timeout 200 python3 -m torch.distributed.run --nproc_per_node "$N" streamfusion-bench/src/python/a2a_anchor.py 64,256 20 \
        > "$OUT/a2a-torch.log" 2>&1; echo "exit $?"
      grep -E "MiB|PyTorch|Error" "$OUT/a2a-torch.log" | head -10
    fi
  done
fi
if has downcall; then
  echo "== downcall overhead: C, then Java (JMH)"
  nvcc -O2 -o /tmp/sf-downcall streamfusion-bench/src/native/downcall_overhead.c && /tmp/sf-downcall | tail -2
  timeout 120 "$SF" jmh DowncallBenchmark -f 1 -wi 3 -i 5 > "$OUT/jmh-downcall.log" 2>&1; echo "exit $?"
  grep -E "^Benchmark|DowncallBenchmark\." "$OUT/jmh-downcall.log" | tail -3
fi
if has sweep && [ "$N" -ge 2 ]; then
  # The layerwise sweep on the GPUs at hand (logical 2x(N/2) machines), then its report (CPU).
  : "${SWEEP_ARGS:=--topology 2x$((N / 2)) --links none,unlimited,rail-400G,p4de-400G/gpu-of-8,eth-100G --dims 64,128 --batches 1,2,4 --heads 24}"
  echo "== sweep: streamfusion sweep $SWEEP_ARGS --out $OUT/sweep"
  # shellcheck disable=SC2086
  timeout 3000 "$SF" sweep $SWEEP_ARGS --out "$OUT/sweep" > "$OUT/sweep.log" 2>&1; echo "exit $?"
  grep -E "^\[rank 0\] \[sweep|failed|Exception" "$OUT/sweep.log" | tail -40
  timeout 300 "$SF" sweep-report "$OUT/sweep/sweep.csv" "$OUT/sweep/report" > "$OUT/sweep-report.log" 2>&1; echo "report exit $?"
  ls "$OUT/sweep/report" 2>/dev/null
fi
echo "== done $(date -u +%FT%TZ)"
