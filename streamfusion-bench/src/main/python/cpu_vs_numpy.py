#!/usr/bin/env python3
"""The CPU reference path beside NumPy's fp32 attention, on the same inputs, in one run.

Times NumPy's fp32 attention (softmax(q k^T / sqrt(D)) v, one batched matmul per product, OpenBLAS or
whatever BLAS NumPy has) before and after the JMH benchmark CpuAttentionBenchmark (or the one --benchmark
names, e.g. CpuKeptLayerBenchmark), then prints one
Markdown row per method and topology: JMH's ms per layer, its ratio to NumPy's median, and the process's
CPU time / wall time over the measurement iterations. The inputs are the benchmark's: SplittableRandom(42),
q then k then v, uniform in [-1, 1), rounded to fp32 (SplittableRandom is SplitMix64, reproduced below).

With --baseline-jar (a benchmarks.jar built from other code), each method and topology runs on its own,
paired: NumPy, this jar, the baseline jar, NumPy again, with the load average beside each; each ratio is to
the median of the NumPy timings taken just before and just after that pair, so a load that changes during
the run shifts both sides alike.

Usage (from the repository root, after ./mvnw -B -DskipTests package):
    python3 streamfusion-bench/src/main/python/cpu_vs_numpy.py [--topologies 1x2,2x2] [--methods RING,USP]
    python3 streamfusion-bench/src/main/python/cpu_vs_numpy.py --baseline-jar /path/to/old/benchmarks.jar
"""
import argparse
import glob
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

GOLDEN_GAMMA = 0x9E3779B97F4A7C15
MASK = (1 << 64) - 1


def splittable_doubles(seed, count, origin, bound):
    """java.util.SplittableRandom(seed).nextDouble(origin, bound), count times, as float64."""
    with np.errstate(over="ignore"):
        z = (np.uint64(seed) + np.arange(1, count + 1, dtype=np.uint64) * np.uint64(GOLDEN_GAMMA))
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    r = (z >> np.uint64(11)).astype(np.float64) * 2.0 ** -53
    r = r * (bound - origin) + origin
    return np.where(r >= bound, np.nextafter(bound, -np.inf), r)


def inputs(seq, heads, dim, seed=42):
    n = seq * heads * dim
    x = splittable_doubles(seed, 3 * n, -1.0, 1.0).astype(np.float32)
    return [x[i * n:(i + 1) * n].reshape(1, seq, heads, dim) for i in range(3)]


def numpy_attention(q, k, v):
    """fp32 attention over [B, S, H, D]: the usual two matmuls and a softmax, all fp32."""
    qh, kh, vh = (t.transpose(0, 2, 1, 3) for t in (q, k, v))  # [B, H, S, D]
    s = np.matmul(qh, kh.transpose(0, 1, 3, 2)) * np.float32(1.0 / np.sqrt(q.shape[-1]))
    s -= s.max(axis=-1, keepdims=True)
    np.exp(s, out=s)
    s /= s.sum(axis=-1, keepdims=True)
    return np.matmul(s, vh).transpose(0, 2, 1, 3)


def time_numpy(q, k, v, repeats):
    numpy_attention(q, k, v)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        numpy_attention(q, k, v)
        times.append(time.perf_counter() - start)
    return times


def find_java():
    home = os.environ.get("JAVA_HOME")
    if home and os.path.exists(os.path.join(home, "bin", "java")):
        return os.path.join(home, "bin", "java")
    found = sorted(glob.glob("/usr/lib/jvm/temurin-25*/bin/java"))
    return found[-1] if found else "java"


def run_jmh(args, json_out, jar=None, methods=None, topologies=None):
    cmd = [args.java, "-jar", jar or args.jar, args.benchmark,
           "-p", "method=" + (methods or args.methods), "-p", "topology=" + (topologies or args.topologies),
           "-p", "seq=%d" % args.seq, "-p", "heads=%d" % args.heads, "-p", "dim=%d" % args.dim,
           "-rf", "json", "-rff", json_out] + args.jmh_args
    print("$ " + " ".join(cmd), file=sys.stderr)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    sys.stderr.write(out[-4000:])
    return cmd, out


def cpu_over_wall(stdout):
    """Per (method, topology): the cpu/wall lines printed by the measurement iterations (not warm-up)."""
    ratios = {}
    key = None
    measuring = False
    for line in stdout.splitlines():
        m = re.match(r"# Parameters: \((.*)\)", line)
        if m:
            params = dict(p.strip().split(" = ") for p in m.group(1).split(","))
            key = (params["method"], params["topology"])
        if line.startswith("# Warmup Iteration"):
            measuring = False
        elif line.startswith("Iteration"):
            measuring = True
        m = re.search(r"cpu/wall ([\d.]+) \((.*) on", line)
        if m and measuring and key:
            ratios.setdefault(key, []).append(float(m.group(1)))
            ratios[key + ("mesh",)] = m.group(2)
    return ratios


def jmh_once(args, jar, method, topology):
    """(ms per layer, error, CPU time / wall time over the measurement iterations) of one JMH run."""
    with tempfile.TemporaryDirectory() as tmp:
        json_out = os.path.join(tmp, "jmh.json")
        cmd, stdout = run_jmh(args, json_out, jar, method, topology)
        with open(json_out) as f:
            r = json.load(f)[0]
    cw = cpu_over_wall(stdout).get((method, topology), [])
    return r["primaryMetric"]["score"], r["primaryMetric"]["scoreError"], statistics.median(cw) if cw else float("nan")


def paired(args, q, k, v):
    """Per method and topology: NumPy, this jar, the baseline jar, NumPy; ratios to the NumPy timings around them."""
    print("NumPy %s fp32 attention, B=1 S=%d H=%d D=%d; %d cores; jar %s, baseline %s" % (
        np.__version__, args.seq, args.heads, args.dim, os.cpu_count(), args.jar, args.baseline_jar))
    print()
    print("| method | topology | NumPy ms (before, after) | ms per layer | x NumPy | CPU / wall | baseline ms | "
          "baseline x NumPy | baseline CPU / wall | load (1 min) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for topology in args.topologies.split(","):
        for method in args.methods.split(","):
            load = [os.getloadavg()[0]]
            before = time_numpy(q, k, v, args.repeats)
            new = jmh_once(args, args.jar, method, topology)
            load.append(os.getloadavg()[0])
            old = jmh_once(args, args.baseline_jar, method, topology)
            after = time_numpy(q, k, v, args.repeats)
            load.append(os.getloadavg()[0])
            ref = statistics.median(before + after) * 1e3
            print("| %s | %s | %.0f (%.0f, %.0f) | %.0f ± %.0f | %.2f | %.2f | %.0f ± %.0f | %.2f | %.2f | %s |" % (
                method, topology, ref, statistics.median(before) * 1e3, statistics.median(after) * 1e3,
                new[0], new[1], new[0] / ref, new[2], old[0], old[1], old[0] / ref, old[2],
                " / ".join("%.1f" % x for x in load)), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--jar", default="streamfusion-bench/target/benchmarks.jar")
    p.add_argument("--java", default=find_java())
    p.add_argument("--benchmark", default="CpuAttentionBenchmark",
                   help="CpuAttentionBenchmark (ShardedAttention.forward: layer built per call) or CpuKeptLayerBenchmark"
                        " (each rank's layer kept, one forward per operation)")
    p.add_argument("--methods", default="ULYSSES,RING,USP,TAS,TORUS_TWO_SIDED,STREAMFUSION")
    p.add_argument("--topologies", default="1x2,2x2")
    p.add_argument("--seq", type=int, default=2048)
    p.add_argument("--heads", type=int, default=8)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--repeats", type=int, default=10, help="NumPy timings before and after the JMH run")
    p.add_argument("--baseline-jar", help="a benchmarks.jar of other code: run both, paired, per method and topology")
    p.add_argument("jmh_args", nargs="*", help="more JMH arguments, after --")
    args = p.parse_args()

    q, k, v = inputs(args.seq, args.heads, args.dim)
    if args.baseline_jar:
        paired(args, q, k, v)
        return
    load_before = os.getloadavg()
    before = time_numpy(q, k, v, args.repeats)
    with tempfile.TemporaryDirectory() as tmp:
        json_out = os.path.join(tmp, "jmh.json")
        cmd, stdout = run_jmh(args, json_out)
        with open(json_out) as f:
            results = json.load(f)
    after = time_numpy(q, k, v, args.repeats)
    load_after = os.getloadavg()
    numpy_ms = statistics.median(before + after) * 1e3
    ratios = cpu_over_wall(stdout)

    print("NumPy %s fp32 attention, B=1 S=%d H=%d D=%d: median %.0f ms (before the JMH run: min %.0f, median %.0f;"
          " after: min %.0f, median %.0f)" % (np.__version__, args.seq, args.heads, args.dim, numpy_ms,
                                               min(before) * 1e3, statistics.median(before) * 1e3,
                                               min(after) * 1e3, statistics.median(after) * 1e3))
    print("load average (1, 5, 15 min): before %s, after %s; %d cores" % (
        " ".join("%.2f" % x for x in load_before), " ".join("%.2f" % x for x in load_after), os.cpu_count()))
    print("command: " + " ".join(cmd))
    print()
    print("| method | topology | mesh | ms per layer (JMH) | x NumPy | CPU time / wall time |")
    print("|---|---|---|---|---|---|")
    for r in results:
        method, topo = r["params"]["method"], r["params"]["topology"]
        score, error = r["primaryMetric"]["score"], r["primaryMetric"]["scoreError"]
        cw = ratios.get((method, topo), [])
        print("| %s | %s | %s | %.0f ± %.0f | %.2f | %s |" % (
            method, topo, ratios.get((method, topo, "mesh"), "?"), score, error, score / numpy_ms,
            "%.2f (%.2f-%.2f)" % (statistics.median(cw), min(cw), max(cw)) if cw else "?"))


if __name__ == "__main__":
    main()
