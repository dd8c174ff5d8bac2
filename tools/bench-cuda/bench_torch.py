#!/usr/bin/env python3
"""hxrt CUDA plugin vs PyTorch on the same GPU, in one run.

Builds the models in PyTorch with random weights, exports each to ONNX, then
times (1) PyTorch eager, (2) torch.compile, (3) hxrt's CUDA plugin through
hxrt-bench-cuda (whole model as one executable, CUDA-graph replay), and checks
hxrt's output against PyTorch's on the same input.

Latency = wall time of one inference with its synchronisation (inputs already
on the GPU), median over --iterations after warm-up, for every contestant.

    python3 tools/bench-cuda/bench_torch.py --out DIR [--only resnet50,bert,matmul] [--no-compile]
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def wall_latency(fn, iters, warmup, rounds=1):
    """Median wall time (ms) over rounds x iters runs, and the median of each round."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times, round_medians = [], []
    for _ in range(rounds):
        first = len(times)
        for _ in range(iters):
            t0 = time.perf_counter()
            fn()
            torch.cuda.synchronize()
            times.append((time.perf_counter() - t0) * 1e3)
        round_medians.append(float(np.median(times[first:])))
    return float(np.median(times)), round_medians


def back_to_back(fn, iters, warmup):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(iters):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) * 1e3 / iters


class EncoderLayer(nn.Module):
    """A BERT-base layer written out with plain ops (no fused SDPA), so PyTorch
    and the exported ONNX graph run the same computation."""

    def __init__(self, d=768, heads=12, ff=3072):
        super().__init__()
        self.h, self.dh = heads, d // heads
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.ff1, self.ff2 = nn.Linear(d, ff), nn.Linear(ff, d)

    def forward(self, x):
        b, t, d = x.shape
        q = self.q(x).reshape(b, t, self.h, self.dh).transpose(1, 2)
        k = self.k(x).reshape(b, t, self.h, self.dh).transpose(1, 2)
        v = self.v(x).reshape(b, t, self.h, self.dh).transpose(1, 2)
        att = torch.softmax((q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(self.dh)), dim=-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, d)
        x = self.ln1(x + self.o(y))
        return self.ln2(x + self.ff2(F.gelu(self.ff1(x))))


class Encoder(nn.Module):
    def __init__(self, layers=12):
        super().__init__()
        self.layers = nn.ModuleList(EncoderLayer() for _ in range(layers))

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class MatMul(nn.Module):
    def forward(self, a, b):
        return a @ b


def export(model, args, path):
    names = ["x"] if len(args) == 1 else ["a", "b"]
    try:
        torch.onnx.export(model, args, path, opset_version=17, dynamo=False, input_names=names, output_names=["y"])
    except Exception as e:  # the TorchScript exporter may be gone in newer releases
        print(f"  TorchScript export failed ({e}); trying the dynamo exporter", flush=True)
        torch.onnx.export(model, args, path, opset_version=18, dynamo=True, input_names=names, output_names=["y"],
                          external_data=False)


def run_hxrt(tool, onnx_path, inputs, out_dir, tag, options, iters, warmup, mode="graph", b2b=False, rounds=1):
    raw_in = os.path.join(out_dir, f"{tag}.in")
    raw_out = os.path.join(out_dir, f"{tag}.{mode}.out")
    js = os.path.join(out_dir, f"{tag}.{mode}.json")
    with open(raw_in, "wb") as f:
        for t in inputs:
            f.write(t.detach().cpu().contiguous().numpy().tobytes())
    cmd = [tool, onnx_path, "--mode", mode, "--iterations", str(iters), "--warmup", str(warmup), "--input-raw", raw_in,
           "--output-raw", raw_out, "--json", js, "--options", options]
    if b2b:
        cmd.append("--back-to-back")
    if rounds > 1:
        cmd += ["--rounds", str(rounds)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    print(r.stdout.strip(), r.stderr.strip()[-2000:], flush=True)
    if r.returncode != 0:
        return None, None
    with open(js) as f:
        result = json.load(f)
    return result, raw_out


def rel_error(raw_out, ref):
    ref = ref.detach().float().cpu().numpy().ravel().astype(np.float64)
    dtype = np.float16 if ref.size and os.path.getsize(raw_out) == ref.size * 2 else np.float32
    got = np.fromfile(raw_out, dtype=dtype).astype(np.float64)
    if got.size != ref.size or not np.all(np.isfinite(got)):
        return float("inf")
    return float(np.linalg.norm(got - ref) / max(np.linalg.norm(ref), 1e-30))


def bench_model(name, model, inputs, args, results, tf32, hxrt_options, compile_model=True):
    torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cuda.matmul.allow_tf32 = tf32
    tag = name
    path = os.path.join(args.out, f"{tag}.onnx")
    print(f"== {tag}", flush=True)
    with torch.no_grad():
        if not os.path.exists(path):
            export(model, tuple(inputs), path)
        ref = model(*inputs)
        row = {"name": tag, "tf32": tf32}
        row["eager_ms"], row["eager_rounds_ms"] = wall_latency(lambda: model(*inputs), args.iterations, args.warmup,
                                                               args.rounds)
        if compile_model and not args.no_compile:
            try:
                t0 = time.perf_counter()
                cm = torch.compile(model)
                cm(*inputs)
                torch.cuda.synchronize()
                row["compile_time_s"] = time.perf_counter() - t0
                row["compiled_ms"], row["compiled_rounds_ms"] = wall_latency(lambda: cm(*inputs), args.iterations,
                                                                             args.warmup, args.rounds)
            except Exception as e:
                print(f"  torch.compile failed: {e}", flush=True)
        res, raw = run_hxrt(args.tool, path, inputs, args.out, tag, hxrt_options, args.iterations, args.warmup,
                            rounds=args.rounds)
        if res:
            row["hxrt_ms"] = res["median_ms"]
            row["hxrt_rounds_ms"] = res.get("round_medians_ms")
            row["hxrt_host_us_per_op"] = res["host_us_per_op"]
            row["hxrt_nodes"] = res["nodes"]
            row["hxrt_compile_ms"] = res["compile_ms"]
            row["rel_error_vs_torch"] = rel_error(raw, ref)
        if args.channels_last_variant and inputs[0].dtype == torch.float32 and inputs[0].dim() == 4:
            opts = ";".join(o for o in (hxrt_options, "channels_last=1") if o)
            res, raw = run_hxrt(args.tool, path, inputs, args.out, tag + "_cl", opts, args.iterations, args.warmup)
            if res:
                row["hxrt_channels_last_ms"] = res["median_ms"]
                row["rel_error_channels_last"] = rel_error(raw, ref)
        if args.nodes_mode:
            res, raw = run_hxrt(args.tool, path, inputs, args.out, tag, hxrt_options, args.iterations, args.warmup,
                                mode="nodes")
            if res:
                row["hxrt_nodes_mode_ms"] = res["median_ms"]
                row["hxrt_nodes_mode_host_us_per_op"] = res["host_us_per_op"]
    for k in ("eager_ms", "compiled_ms"):
        if "hxrt_ms" in row and k in row:
            row["ratio_vs_" + k[:-3]] = row["hxrt_ms"] / row[k]
    print(json.dumps(row), flush=True)
    results.append(row)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--tool", default="hxrt-bench-cuda")
    p.add_argument("--only", default="matmul,resnet50,bert")
    p.add_argument("--iterations", type=int, default=50)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--rounds", type=int, default=1,
                   help="timed rounds of --iterations runs for every contestant (spread = range of round medians)")
    p.add_argument("--no-compile", action="store_true")
    p.add_argument("--nodes-mode", action="store_true", help="also time one executable per node")
    p.add_argument("--tf32-variants", action="store_true", help="also run float32 with TF32 on both sides")
    p.add_argument("--channels-last-variant", action="store_true",
                   help="also time float32 convolution models with hxrt's channels_last=1")
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(0)
    torch.backends.cudnn.benchmark = True
    dev = torch.device("cuda")
    results = []
    info = {"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__, "cuda": torch.version.cuda,
            "cudnn": torch.backends.cudnn.version(), "date": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    print(json.dumps(info), flush=True)
    only = set(args.only.split(","))

    if "matmul" in only:
        n = 4096
        for dt, tag in ((torch.float32, "f32"), (torch.float16, "f16")):
            torch.backends.cuda.matmul.allow_tf32 = False
            a = torch.randn(n, n, device=dev, dtype=dt)
            b = torch.randn(n, n, device=dev, dtype=dt)
            name = f"matmul4096_{tag}"
            path = os.path.join(args.out, name + ".onnx")
            export(MatMul(), (a, b), path)
            torch_ms = back_to_back(lambda: torch.matmul(a, b), 50, 10)
            res, raw = run_hxrt(args.tool, path, [a, b], args.out, name, "", 50, 10, b2b=True)
            row = {"name": name, "torch_cublas_ms": torch_ms, "torch_tflops": 2 * n ** 3 / torch_ms / 1e9}
            if res:
                row["hxrt_ms"] = res["median_ms"]
                row["hxrt_tflops"] = 2 * n ** 3 / res["median_ms"] / 1e9
                row["hxrt_vs_cublas"] = torch_ms / res["median_ms"]
                row["rel_error_vs_torch"] = rel_error(raw, torch.matmul(a, b))
            print(json.dumps(row), flush=True)
            results.append(row)

    if "resnet50" in only:
        import torchvision
        for dt, tag in ((torch.float32, "f32"), (torch.float16, "f16")):
            for batch in (1, 32):
                model = torchvision.models.resnet50(weights=None).eval().to(dev, dt)
                x = torch.randn(batch, 3, 224, 224, device=dev, dtype=dt)
                bench_model(f"resnet50_b{batch}_{tag}", model, [x], args, results, tf32=False, hxrt_options="")
                if dt == torch.float32 and args.tf32_variants:
                    results_tag = f"resnet50_b{batch}_{tag}"
                    bench_model(results_tag, model, [x], args, results, tf32=True, hxrt_options="allow_tf32=1",
                                compile_model=False)

    if "bert" in only:
        model = Encoder().eval().to(dev, torch.float16)
        x = torch.randn(8, 128, 768, device=dev, dtype=torch.float16)
        bench_model("bert_base_b8_s128_f16", model, [x], args, results, tf32=False, hxrt_options="")

    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({"info": info, "results": results}, f, indent=2)
    print("\nname | eager ms | compile ms | hxrt ms | hxrt/eager | hxrt/compile | rel err")
    for r in results:
        print(" | ".join(str(r.get(k, "-")) if not isinstance(r.get(k), float) else f"{r[k]:.4g}"
                         for k in ("name", "eager_ms", "compiled_ms", "hxrt_ms", "ratio_vs_eager", "ratio_vs_compiled",
                                   "rel_error_vs_torch")))
    if args.rounds > 1:
        print("\nround medians (ms): name | eager | compile | hxrt")
        for r in results:
            print(" | ".join([r["name"] + (" tf32" if r.get("tf32") else "")] +
                             ["/".join(f"{x:.3f}" for x in r.get(k) or []) or "-"
                              for k in ("eager_rounds_ms", "compiled_rounds_ms", "hxrt_rounds_ms")]))


if __name__ == "__main__":
    sys.exit(main())
