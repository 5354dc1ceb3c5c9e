#!/usr/bin/env bash
# One visit to a lent GPU machine (JAX, no TensorFlow): train, score fold 9 each epoch, and
# return the best inference-generator weights (float16, in parts small enough to bring home).
# Needs, carried from the checkout: .whl/ (keras 3.15.1, namex, optree for cp312) and
# .devcache/ptbxl-250hz.npz (made by `python -m training.data`). Export to ONNX happens at home.
# Usage: bash training/gpu/train_ekgan.sh OUTDIR TAG [training.train flags]
set -euo pipefail
out=${1:?usage: train_ekgan.sh OUTDIR TAG [flags]}; tag=${2:?TAG}; shift 2
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site:$PWD KERAS_BACKEND=jax XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
python3 -m training.train --run "/tmp/$tag" --cache .devcache/ptbxl-250hz.npz "$@" 2>&1 \
  | grep -v "cuda_timer\|bfc_allocator" | tee "$out/$tag-train.log"
cp "/tmp/$tag/meta.json" "$out/$tag-meta.json"
python3 -c "import numpy as np, sys; z = np.load(sys.argv[1]); np.savez(sys.argv[2], **{k: v.astype(np.float16) for k, v in z.items()})" \
  "/tmp/$tag/best_ig.npz" "/tmp/$tag/best_ig16.npz"
split -b 15M -d "/tmp/$tag/best_ig16.npz" "$out/$tag-best_ig16.npz.part"
