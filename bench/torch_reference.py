#!/usr/bin/env python3
"""PyTorch + torchvision reference for `kiln bench`: same flags, same work, same output.

The same model (torchvision ResNet, random init, 1000-class head by default), the same
synthetic inputs, cross-entropy and AdamW over the trainable parameters; frozen parts have
requires_grad off and BatchNorm in eval mode, as kiln freezes them. Prints one line (or one
JSON object with --json) per combination of the listed values.

bf16 and f16 on CUDA use torch.autocast (PyTorch's usual mixed precision), f16 with a
GradScaler; kiln does the same: f32 weights, convolutions in half, the loss scaled for f16
(PyTorch's autocast also runs the head's matrix multiply in half, kiln keeps it f32). Peak memory: the process's peak RSS on the CPU (run one benchmark per
process for a figure of its own), the caching allocator's peak reservation on a GPU.
"""

import argparse
import json
import resource
import statistics
import time

import torch
import torchvision

FROZEN = {
    "full": [],
    "frozen": ["conv1", "bn1", "layer1", "layer2"],
    "head": ["conv1", "bn1", "layer1", "layer2", "layer3", "layer4"],
    "eval": [],
}


def csv(kind):
    return lambda text: [kind(v) for v in text.split(",")]


def parse():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", type=csv(str), default=["resnet18"])
    p.add_argument("--batch", type=csv(int), default=[8])
    p.add_argument("--image-size", type=int, default=224)
    p.add_argument("--mode", type=csv(str), default=["full"])
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--classes", type=int, default=1000)
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument("--precision", type=csv(str), default=["f32"])
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: PyTorch's default)")
    p.add_argument("--no-cudnn-benchmark", action="store_true")
    p.add_argument("--json", action="store_true")
    return p.parse_args()


def bench(args, arch, mode, batch, precision, device):
    torch.manual_seed(0)
    gpu = device.type == "cuda"
    if gpu:
        # Per benchmark, not per process: earlier benchmarks' cached blocks are released first.
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    model = getattr(torchvision.models, arch)(num_classes=args.classes).to(device)
    x = torch.randn(batch, 3, args.image_size, args.image_size, device=device)
    y = torch.randint(0, args.classes, (batch,), device=device)
    half = {"bf16": torch.bfloat16, "f16": torch.float16}.get(precision)
    autocast = torch.autocast(device_type=device.type, dtype=half or torch.float32, enabled=half is not None)
    scaler = torch.amp.GradScaler(device.type, enabled=precision == "f16")
    if mode == "eval":
        model.eval()

        def step():
            with torch.no_grad(), autocast:
                model(x).argmax(1).cpu()

    else:
        model.train()
        for name in FROZEN[mode]:
            part = getattr(model, name)
            part.eval()
            for p in part.parameters():
                p.requires_grad_(False)
        trainable = [p for p in model.parameters() if p.requires_grad]
        # kiln's TrainConfig defaults: AdamW, weight decay 1e-4.
        opt = torch.optim.AdamW(trainable, lr=1e-4, weight_decay=1e-4)
        loss_fn = torch.nn.CrossEntropyLoss()

        def step():
            with autocast:
                logits = model(x)
                loss = loss_fn(logits.float(), y)
            # kiln reads loss and accuracy back each step; so does the reference.
            loss.item()
            (logits.argmax(1) == y).sum().item()
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()

    times = []
    for i in range(args.warmup + args.steps):
        t = time.perf_counter()
        step()
        if gpu:
            torch.cuda.synchronize(device)
        if i >= args.warmup:
            times.append(time.perf_counter() - t)
    peak = torch.cuda.max_memory_reserved(device) if gpu else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    median = statistics.median(times)
    return {
        "tool": "pytorch",
        "model": arch,
        "mode": mode,
        "batch": batch,
        "image_size": args.image_size,
        "device": str(device) if gpu else "cpu",
        "precision": precision,
        "steps": len(times),
        "warmup": args.warmup,
        "images_per_second": batch / median,
        "images_per_second_min": batch / max(times),
        "images_per_second_max": batch / min(times),
        "ms_per_step": median * 1000,
        "peak_memory_mb": peak / 1e6,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
    }


def main():
    args = parse()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.backends.cudnn.benchmark = not args.no_cudnn_benchmark
    device = torch.device(args.device)
    for precision in args.precision:
        for arch in args.model:
            for mode in args.mode:
                for batch in args.batch:
                    r = bench(args, arch, mode, batch, precision, device)
                    if args.json:
                        print(json.dumps(r), flush=True)
                    else:
                        print(
                            f"{arch} {mode} batch {batch} at {args.image_size} px on {r['device']} ({precision}): "
                            f"{r['images_per_second']:.1f} images/s (median; min {r['images_per_second_min']:.1f}, "
                            f"max {r['images_per_second_max']:.1f}), {r['ms_per_step']:.1f} ms/step, "
                            f"peak memory {r['peak_memory_mb']:.0f} MB",
                            flush=True,
                        )


if __name__ == "__main__":
    main()
