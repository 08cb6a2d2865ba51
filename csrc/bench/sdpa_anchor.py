#!/usr/bin/env python3
"""PyTorch SDPA anchors (FLASH and CUDNN backends) for the same shapes as `sf_test --bench`,
then one side-by-side table with the sf_* rows read from the driver's CSV.

usage: python3 sdpa_anchor.py SF_CSV [OUT_CSV]
TFLOP/s = 4*B*H*S*S*D / time (non-causal forward). Median of CUDA-event-timed runs after warm-up.
"""
import csv
import sys

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
import torch.nn.functional as F

B, H = 1, 24
SHAPES = [(4608, 128), (16896, 128), (16384, 64), (16384, 128), (65536, 64), (65536, 128)]


def time_fn(fn, iters):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    ts = []
    for _ in range(iters):
        a = torch.cuda.Event(enable_timing=True)
        b = torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        ts.append(a.elapsed_time(b))
    ts.sort()
    return ts[len(ts) // 2]


def main():
    sf_csv = sys.argv[1]
    out_csv = sys.argv[2] if len(sys.argv) > 2 else None
    print("torch", torch.__version__, "device", torch.cuda.get_device_name(0), flush=True)
    rows = {}
    for S, D in SHAPES:
        g = torch.Generator(device="cuda").manual_seed(S + D)
        # [B, H, S, D] contiguous: each backend's preferred layout
        q = torch.randn(B, H, S, D, device="cuda", dtype=torch.bfloat16, generator=g)
        k = torch.randn(B, H, S, D, device="cuda", dtype=torch.bfloat16, generator=g)
        v = torch.randn(B, H, S, D, device="cuda", dtype=torch.bfloat16, generator=g)
        iters = 10 if S >= 65536 else 30
        for name, be in (("torch_flash", SDPBackend.FLASH_ATTENTION), ("torch_cudnn", SDPBackend.CUDNN_ATTENTION)):
            try:
                with sdpa_kernel(be):
                    ms = time_fn(lambda: F.scaled_dot_product_attention(q, k, v), iters)
                tf = 4.0 * B * H * S * S * D / (ms * 1e-3) / 1e12
                rows[(name, S, D)] = (ms, tf)
                print(f"{name:12s} S={S:6d} D={D:3d} median {ms:9.3f} ms {tf:6.1f} TFLOP/s", flush=True)
            except Exception as e:  # backend not available: report, do not invent a number
                print(f"{name:12s} S={S:6d} D={D:3d} FAILED: {type(e).__name__}: {str(e)[:200]}", flush=True)
        del q, k, v
        torch.cuda.empty_cache()
    with open(sf_csv) as f:
        for r in csv.DictReader(f):
            rows[(r["variant"], int(r["S"]), int(r["D"]))] = (float(r["median_ms"]), float(r["tflops"]))
    variants = ["sf_single", "sf_4q2kv", "torch_flash", "torch_cudnn"]
    if out_csv:
        with open(out_csv, "w") as f:
            f.write("variant,S,D,median_ms,tflops\n")
            for (vn, S, D), (ms, tf) in sorted(rows.items()):
                f.write(f"{vn},{S},{D},{ms:.4f},{tf:.2f}\n")
    print()
    print("TFLOP/s (median ms), B=1 H=24 bf16 non-causal, 4*B*H*S*S*D/time")
    print("| S | D | " + " | ".join(variants) + " |")
    print("|---|---|" + "---|" * len(variants))
    for S, D in SHAPES:
        cells = []
        for vn in variants:
            x = rows.get((vn, S, D))
            cells.append(f"{x[1]:.1f} ({x[0]:.2f} ms)" if x else "n/a")
        print(f"| {S} | {D} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
