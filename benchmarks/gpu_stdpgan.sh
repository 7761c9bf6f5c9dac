#!/usr/bin/env bash
# The GPU checks of ST-DPGAN (issue 12), prepared for the device tool's machine (torch and torch-geometric there; no
# opacus or fastcore, no network, no ../shared), as commands meant for the device tool's 10-minute limit (timeouts inside). Nothing here needs opendp
# (checked in a venv holding only what that machine has, plus the two wheels: 0.5 MB in all).
#
# Prepare here, once, in the repository root (the folder .gpu is ignored and travels with `carry`):
#   echo /.gpu/ >> .git/info/exclude
#   mkdir -p .gpu/whl .gpu/data && cp -r ../shared/data/los-loop ../shared/data/metr-la ../shared/data/SHA256SUMS .gpu/data/
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
#     -d .gpu/whl opacus==1.6.0 fastcore==2.2.41
# Then, with the device tool (carry [".gpu"]):
#   bash benchmarks/gpu_stdpgan.sh bench    # plain vs DP discriminator step, batch 256, widths 32 and 64
#   bash benchmarks/gpu_stdpgan.sh seeds 0  # the stable recipe on all 207 sensors, width 64, 4800 steps (one seed a command)
#   GPU_CHECK_ARGS="--latent-hidden 512 --z-dim 128" bash benchmarks/gpu_stdpgan.sh seeds 0   # the full profile's 207-sensor settings
# Not yet run on a GPU (none was lent when it was written): how long each takes there is not known; every python
# call has a timeout (280 s a bench width, 540 s a seed) so that a slow one still returns its log.
# Each writes its log and JSON under $OUT. Here (no GPU) `GPU_CHECK_DEVICE=cpu GPU_CHECK_SMALL=1 bash
# benchmarks/gpu_stdpgan.sh bench` and `... seeds 0` run the same commands at a toy size, to test the wiring.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu_stdpgan_out}; mkdir -p "$OUT"
if [ -d .gpu/whl ] && ls .gpu/whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .gpu/whl/*.whl
  export PYTHONPATH=/tmp/site:$PWD
else
  export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
fi
[ -d .gpu/data ] && export TRAJSTUDY_DATA=$PWD/.gpu/data
export PYTHONUNBUFFERED=1
PY=${GPU_CHECK_PYTHON:-python3}
DEV=${GPU_CHECK_DEVICE:-cuda}
small=${GPU_CHECK_SMALL:-}
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
$PY -c "import torch, opacus, trajstudy; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'opacus', opacus.__version__)"
what=${1:-bench}; shift || true
case "$what" in
  bench)
    # the issue's targets: DP step <= 1.3x the plain step at batch 256, >= 15,000 windows/s
    for d in 32 64; do
      if [ -n "$small" ]; then args=(--quick --batch 16 --steps 2); else args=(--batch 256 --steps 200); fi
      timeout 280 $PY benchmarks/bench_stdpgan.py --device "$DEV" --d-model $d "${args[@]}" 2>&1 | tee "$OUT/bench_d$d.txt"
    done ;;
  seeds)
    seeds=("$@"); [ ${#seeds[@]} -gt 0 ] || seeds=(0)
    if [ -n "$small" ]; then args=(--nodes 20 --steps 40 --every 20 --d-model 8); else args=(--nodes 207 --steps 4800 --every 1200 --d-model 64); fi
    for k in "${seeds[@]}"; do
      # GPU_CHECK_ARGS adds options of stdpgan_recipe_seeds.py, e.g. "--latent-hidden 512"
      timeout 540 $PY benchmarks/stdpgan_recipe_seeds.py --arch fixed --seeds "$k" "${args[@]}" ${GPU_CHECK_ARGS:-} --out "$OUT/s207_seed$k.json" 2>&1 \
        | tee "$OUT/s207_seed$k.txt"
    done ;;
  *) echo "usage: $0 bench | seeds K [K ...]" >&2; exit 2 ;;
esac
