"""PyTorch all_to_all_single bus bandwidth: the anchor for AllToAllBandwidth, run in the same device call.

python3 -m torch.distributed.run --nproc_per_node N a2a_anchor.py 64,256 [reps] [jit_warmup]

The first size is warmed up jit_warmup times (default 1000), as AllToAllBandwidth does for its JIT.
"""
import os
import sys

import torch
import torch.distributed as dist


def main():
    sizes = [int(s) for s in sys.argv[1].split(",")]
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    jit_warmup = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    rank = int(os.environ["RANK"])
    n = int(os.environ["WORLD_SIZE"])
    torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
    dist.init_process_group("nccl")
    rows = []
    for k, mib in enumerate(sizes):
        numel = (mib << 20) // 4
        x = torch.randn(numel, device="cuda")
        y = torch.empty_like(x)
        for _ in range(jit_warmup if k == 0 else 5):
            dist.all_to_all_single(y, x)
        torch.cuda.synchronize()
        times = []
        for _ in range(reps):
            dist.barrier()  # each round alone, as the Java side does
            torch.cuda.synchronize()
            a = torch.cuda.Event(enable_timing=True)
            b = torch.cuda.Event(enable_timing=True)
            a.record()
            dist.all_to_all_single(y, x)
            b.record()
            b.synchronize()
            times.append(a.elapsed_time(b))
        times.sort()
        ms = times[reps // 2]
        bus = (mib << 20) * (n - 1) / n / ms / 1e6
        rows.append(f"{mib:8d} MiB  torch all_to_all_single {ms:8.3f} ms {bus:7.1f} GB/s")
    if rank == 0:
        print(f"PyTorch {torch.__version__}, NCCL {torch.cuda.nccl.version()}, {n} ranks, median of {reps} (CUDA events), bus bandwidth")
        print("\n".join(rows))
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
