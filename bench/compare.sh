#!/usr/bin/env bash
# kiln against PyTorch on this machine's CPU, in one run, alternating per model and mode.
# Installs PyTorch into a scratch venv when it is missing; CI never runs this.
#
#   bench/compare.sh                 # resnet18, resnet50, resnet152 x full, frozen, head, eval
#   MODELS=resnet18 MODES=full,frozen STEPS=5 bench/compare.sh
#   ROUNDS=3 MODES=frozen BLOCK=cpu-frozen bench/compare.sh   # each pair 3 times; own block
#
# Writes bench/out/kiln.jsonl, bench/out/torch.jsonl and bench/out/table.md, and puts the table
# into BENCHMARKS.md between the "$BLOCK" markers (default cpu-table; a new block is appended).
# This machine's speed drifts by tens of percent within minutes: ROUNDS > 1 repeats each
# kiln/PyTorch pair and the table gives the median ratio and every round's.
set -euo pipefail
cd "$(dirname "$0")/.."

MODELS=${MODELS:-resnet18,resnet50,resnet152}
MODES=${MODES:-full,frozen,head,eval}
BATCH=${BATCH:-8}
SIZE=${SIZE:-224}
STEPS=${STEPS:-10}
WARMUP=${WARMUP:-3}
ROUNDS=${ROUNDS:-1}
BLOCK=${BLOCK:-cpu-table}
VENV=${KILN_BENCH_VENV:-$HOME/.cache/kiln-bench-venv}
OUT=bench/out

if ! "$VENV/bin/python" -c 'import torch, torchvision' 2>/dev/null; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q torch torchvision
fi
# KILN=path/to/kiln uses a binary already built (a `--features cuda` build runs the same CPU code).
if [ -z "${KILN:-}" ]; then
    cargo build --release --quiet
    KILN=${CARGO_TARGET_DIR:-target}/release/kiln
fi

mkdir -p "$OUT"
: > "$OUT/kiln.jsonl"
: > "$OUT/torch.jsonl"
# One process per figure: a process's peak memory is then that benchmark's own.
for model in ${MODELS//,/ }; do
    for mode in ${MODES//,/ }; do
        args=(--model "$model" --mode "$mode" --batch "$BATCH" --image-size "$SIZE" --steps "$STEPS" --warmup "$WARMUP" --json)
        for _ in $(seq "$ROUNDS"); do
            "$KILN" bench --device cpu "${args[@]}" | tee -a "$OUT/kiln.jsonl"
            "$VENV/bin/python" bench/torch_reference.py --device cpu "${args[@]}" | tee -a "$OUT/torch.jsonl"
        done
    done
done

torch_version=$("$VENV/bin/python" -c 'import torch, torchvision; print(f"PyTorch {torch.__version__}, torchvision {torchvision.__version__}")')
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)
{
    echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores of $cpu; kiln $("$KILN" --version | cut -d' ' -f2) (Burn 0.21.0 flex),"
    echo "$torch_version; batch $BATCH, $SIZE px, median of $STEPS steps after $WARMUP warm-up, images/s; $ROUNDS round(s) per pair."
    echo
    python3 bench/table.py "$OUT/kiln.jsonl" "$OUT/torch.jsonl"
} > "$OUT/table.md"
cat "$OUT/table.md"

python3 - "$OUT/table.md" "$BLOCK" <<'PY'
import re, sys
table = open(sys.argv[1]).read().strip()
text = open("BENCHMARKS.md").read()
start, end = f"<!-- {sys.argv[2]}:start -->", f"<!-- {sys.argv[2]}:end -->"
block = f"{start}\n{table}\n{end}"
text = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: block, text, flags=re.S) if start in text else text + "\n" + block + "\n"
open("BENCHMARKS.md", "w").write(text)
PY
