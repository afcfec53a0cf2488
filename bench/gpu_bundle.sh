#!/usr/bin/env bash
# Prepare the GPU machine's run of bench/gpu.py (see docs/benchmarks.md, "On the GPU machine").
# Builds ../shared/gpu's bundle (wheels, tesseract, fonts, eval pages), then moves the largest
# wheels into .gpu-extra so that each of the two loads stays under the 64 MiB a call carries.
#   usage: bash bench/gpu_bundle.sh [--ort]     (--ort: onnxruntime-gpu too, in .gpu-ort/pN)
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
bash ../shared/gpu/bundle.sh "$@" . || true   # it fails on its 60 MiB limit; moved below
# The receipts of the tests and bench/gpu.py are set in DejaVu Sans Mono, which the shared
# bundle leaves out; run.sh installs every font in .gpu-bundle/fonts where the tests look.
cp /usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf .gpu-bundle/fonts/
mkdir -p .gpu-extra
grep -qx '/.gpu-extra/' .git/info/exclude || echo '/.gpu-extra/' >> .git/info/exclude
for wheel in rapidocr wordfreq fonttools; do
  mv .gpu-bundle/whl/"$wheel"-*.whl .gpu-extra/ 2>/dev/null || true
done
du -sh .gpu-bundle .gpu-extra
for folder in .gpu-bundle .gpu-extra; do
  size=$(du -sm "$folder" | cut -f1)
  [ "$size" -lt 62 ] || { echo "gpu_bundle: $folder is $size MiB, over what a call carries" >&2; exit 1; }
done
echo "ready: send .gpu-extra first (mkdir -p /tmp/gpu-extra-whl && cp .gpu-extra/*.whl /tmp/gpu-extra-whl/),"
echo "then .gpu-bundle with: bash .gpu-bundle/run.sh python3 bench/gpu.py"
