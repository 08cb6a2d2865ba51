#!/usr/bin/env python3
"""One GPU's whole attention layer with PyTorch's cuDNN SDPA, timed as GraphCheck times a layer: CUDA events
over bursts of 20 consecutive layers / 20, median of REPS bursts after one untimed burst.

usage: python3 layer_anchor.py S H D [REPS]     (B = 1, bf16, non-causal)
"""
import sys

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

BURST = 20


def main():
    s, h, d = (int(a) for a in sys.argv[1:4])
    reps = int(sys.argv[4]) if len(sys.argv) > 4 else 20
    g = torch.Generator(device="cuda").manual_seed(20261202)
    q, k, v = (torch.randn(1, h, s, d, device="cuda", dtype=torch.bfloat16, generator=g) for _ in range(3))
    with sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
        for _ in range(BURST):
            F.scaled_dot_product_attention(q, k, v)
        torch.cuda.synchronize()
        ms = []
        for _ in range(reps):
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            for _ in range(BURST):
                F.scaled_dot_product_attention(q, k, v)
            b.record()
            b.synchronize()
            ms.append(a.elapsed_time(b) / BURST)
    ms.sort()
    med = ms[len(ms) // 2]
    flops = 4 * h * s * s * d
    print(f"cuDNN SDPA (torch {torch.__version__}, {torch.cuda.get_device_name(0)}): B=1 S={s} H={h} D={d} bf16: "
          f"{med:.4f} ms per layer (bursts of {BURST}, median of {reps}), {flops / med / 1e9:.1f} TFLOP/s")


if __name__ == "__main__":
    main()
