#!/usr/bin/env bash
# The GPU check of issue #7, sized for one short run on a lent NVIDIA machine.
#
# Here:  cargo build --release --features cuda && scripts/device_check.sh --prepare
#        (copies the stripped binary and a tmux build into .device/, which git ignores)
# There: bash scripts/device_check.sh   (from the repo root; PyTorch is on that machine)
#
# Writes into $OUT (default ./device-check): nvidia-smi.txt, kiln.jsonl, torch.jsonl,
# table.md (images/s and kiln/PyTorch ratios), train.log, evaluate-{cuda,cpu}.json, dashboard.txt,
# check.log, cubecl.log
# (the first step's kernel compiles and autotune results, time-stamped).
set -u
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--prepare" ]; then
    set -e
    mkdir -p .device
    grep -qx '/.device/' .git/info/exclude 2>/dev/null || echo '/.device/' >> .git/info/exclude
    cp "${CARGO_TARGET_DIR:-target}/release/kiln" .device/kiln
    strip .device/kiln
    # The working tree that travels is capped at 64 MiB: send the binary compressed.
    xz -T2 -6 -f .device/kiln
    # tmux for the dashboard capture; Debian 12 packages unpack and run on newer glibc.
    (cd .device && rm -f ./*.deb && apt-get download tmux libevent-core-2.1-7 libutempter0 >/dev/null)
    ls -la .device
    exit 0
fi

OUT=${OUT:-device-check}
KILN=${KILN:-.device/kiln}
if [ ! -x "$KILN" ] && [ -f "$KILN.xz" ]; then
    xz -d -k "$KILN.xz" 2>/dev/null ||
        python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$KILN.xz" "$KILN"
    chmod +x "$KILN"
fi
PY=${PYTHON:-python3}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/check.log") 2>&1
started=$(date +%s)
say() { echo "== $* ($(( $(date +%s) - started )) s)"; }

# cubecl compiles kernels at run time with NVRTC: find the toolkit's or PyTorch's copy.
# Never a stubs/ folder: its libcuda.so stub would shadow the real driver.
nvrtc_dirs=$(find /usr/local /opt /usr/lib -name 'libnvrtc.so*' -not -path '*/stubs/*' -printf '%h\n' 2>/dev/null |
    sort -u | tr '\n' ':')
export LD_LIBRARY_PATH="${nvrtc_dirs}${LD_LIBRARY_PATH:-}"

say "machine"
echo "NVRTC found in: ${nvrtc_dirs:-nowhere}"
nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1; head -20 "$OUT/nvidia-smi.txt"
"$PY" -c 'import torch, torchvision; print("torch", torch.__version__, "torchvision", torchvision.__version__)'

# The first lent run (2026-11-28, H200) saw PyTorch finish every figure while kiln finished no
# step within 70 s per process: its first CUDA steps compile and tune kernels at run time.
# So kiln gets most of the time, its warm-up step times go to the log (stderr), and the goal's
# figure (ResNet-152 fine-tuning at batch 64) comes first. Each step has its own time limit,
# so the script fits one 10-minute device call.
common=(--device cuda --image-size 224 --steps 10 --warmup 5 --json)
# Where the CUDA headers are: cubecl compiles against $CUDA_PATH/include (or /usr/local/cuda,
# /opt/cuda, /usr); kiln sets CUDA_PATH itself to the newest /usr/local/cuda-X.Y when none of
# those exists (src/cuda_toolkit.rs), and refuses CUDA with what to install when no headers are.
say "CUDA headers"
echo "CUDA_PATH=${CUDA_PATH:-unset}"; ls -d /usr/local/cuda* /opt/cuda 2>/dev/null
ls /usr/local/cuda*/include/cuda_runtime.h 2>/dev/null || echo "no include/cuda_runtime.h under /usr/local/cuda*"

# cubecl reads cubecl.toml from the working directory up: each kernel compile and each autotune
# result goes to stderr with a time stamp, so the log says where the first steps' time goes.
# (CUBECL_DEBUG_LOG would also turn on profiling, which blocks on every launch.) Both caches
# go under target/, so later processes in this run reuse the tuned kernels.
cat > cubecl.toml <<'TOML'
[autotune]
cache = "target"
logger = { level = "full", stderr = true }

[compilation]
cache = "target"
logger = { level = "basic", stderr = true }
TOML
stamp() { while IFS= read -r line; do echo "$(( $(date +%s) - started )) s: $line"; done; }
say "kiln smallest step, with cubecl's compile/autotune log"
RUST_BACKTRACE=1 timeout 90 "$KILN" bench --device cuda --model resnet18 \
    --image-size 32 --batch 2 --steps 2 --warmup 2 --mode full 2>&1 | stamp > "$OUT/cubecl.log"
echo "exit ${PIPESTATUS[0]}"; grep -c 'Compiling kernel' "$OUT/cubecl.log"; tail -5 "$OUT/cubecl.log"
# The same with CubeCL's least autotuning (fewer shape buckets; the tuned kernels above are
# cached): if only this one steps, the time goes to tuning kernels.
say "kiln smallest step, minimal autotune"
CUBECL_AUTOTUNE_LEVEL=minimal timeout 60 "$KILN" bench --device cuda --model resnet18 \
    --image-size 32 --batch 2 --steps 2 --warmup 2 --mode full 2>&1 | grep -v 'Compiling kernel\|Fastest result'
echo "exit ${PIPESTATUS[0]}"
sed -i 's/logger = { level = "basic", stderr = true }/logger = { level = "disabled" }/' cubecl.toml
for precision in f32 bf16; do
    say "kiln resnet152 $precision"
    timeout "${KILN_BENCH_TIMEOUT:-150}" "$KILN" bench --model resnet152 --mode full,frozen --batch 64 \
        --precision $precision "${common[@]}" | tee -a "$OUT/kiln.jsonl"
done
say "kiln resnet50"
timeout "${KILN_BENCH_TIMEOUT:-150}" "$KILN" bench --model resnet50 --mode full,frozen --batch 32,64 \
    --precision f32,bf16 "${common[@]}" | tee -a "$OUT/kiln.jsonl"
say "pytorch"
timeout 150 "$PY" bench/torch_reference.py --model resnet152,resnet50 --mode full,frozen --batch 32,64 \
    --precision f32,bf16 "${common[@]}" | tee -a "$OUT/torch.jsonl"
"$PY" bench/table.py "$OUT/kiln.jsonl" "$OUT/torch.jsonl" | tee "$OUT/table.md"

say "quickstart training on the GPU"
timeout 60 "$KILN" train configs/quickstart.toml --no-tui --device cuda --set train.epochs=2 \
    --runs-dir /tmp/kiln-runs --name gpu-quickstart > "$OUT/train.log" 2>&1
echo "exit $?"; tail -5 "$OUT/train.log"

say "evaluate on the GPU against the CPU (the same test split, the same figures)"
run=$(ls -d /tmp/kiln-runs/*gpu-quickstart* 2>/dev/null | tail -1)
if [ -n "$run" ]; then
    timeout 60 "$KILN" evaluate --run "$run" --device cuda --json > "$OUT/evaluate-cuda.json"
    echo "exit $?"
    timeout 60 "$KILN" evaluate --run "$run" --device cpu --json > "$OUT/evaluate-cpu.json"
    echo "exit $?"
    "$PY" - "$OUT/evaluate-cuda.json" "$OUT/evaluate-cpu.json" <<'PY' || true
import json, sys
gpu, cpu = (json.load(open(p))["metrics"] for p in sys.argv[1:])
same = gpu["confusion"] == cpu["confusion"] and abs(gpu["loss"] - cpu["loss"]) < 1e-3
print("accuracy gpu %.4f cpu %.4f; loss gpu %.6f cpu %.6f; %s"
      % (gpu["accuracy"], cpu["accuracy"], gpu["loss"], cpu["loss"],
         "same figures" if same else "MISMATCH (confusion differs or loss off by 1e-3 or more)"))
PY
fi

say "dashboard capture"
if [ -d .device ] && ls .device/*.deb >/dev/null 2>&1; then
    for deb in .device/*.deb; do dpkg -x "$deb" /tmp/tmux-root; done
    export PATH=/tmp/tmux-root/usr/bin:$PATH LD_LIBRARY_PATH=$LD_LIBRARY_PATH:/tmp/tmux-root/usr/lib/x86_64-linux-gnu
fi
if command -v tmux >/dev/null; then
    tmux -L kiln-check new-session -d -x 150 -y 45 \
        "$KILN train configs/quickstart.toml --device cuda --set train.epochs=20 --runs-dir /tmp/kiln-runs --name gpu-dashboard"
    sleep 20
    tmux -L kiln-check capture-pane -p > "$OUT/dashboard.txt"
    tmux -L kiln-check kill-server
    cat "$OUT/dashboard.txt"
else
    echo "no tmux: dashboard capture skipped" | tee "$OUT/dashboard.txt"
fi
say "done"
