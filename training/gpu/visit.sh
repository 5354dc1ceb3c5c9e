#!/usr/bin/env bash
# One visit to a lent GPU machine (JAX, no TensorFlow): train every run of PLAN side by side on
# the one GPU (small networks leave it mostly idle when alone), each scored on fold 9 every epoch
# and stopped after BUDGET seconds of training. Each run's best generator weights go, as float16
# in parts of at most 15 MiB, to /tmp/ecg12-home with the logs; the first parts are copied to
# $OUT at once and `bash training/gpu/fetch.sh` brings the rest in later calls (within 30 s of
# each other, while /tmp survives). Export to ONNX happens at home, where TensorFlow is.
# Needs, carried from the checkout: .whl/ (keras 3.15.1, namex, optree for cp312) and
# .devcache/ptbxl-250hz.npz (made by `python -m training.data`).
# Usage: bash training/gpu/visit.sh PLAN BUDGET_S   PLAN: lines of "TAG training.train-flags"
# (EXTRA_FLAGS is added to every run: smoke tests use "--limit-records 64"; GRACE_S, default
# 90, is how long past BUDGET_S a run may finish its epoch before it is stopped).
set -euo pipefail
plan=${1:?usage: visit.sh PLAN BUDGET_S}; budget=${2:?BUDGET_S}
py=${PYTHON:-python3}
export KERAS_BACKEND=jax XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1
if [ -d .whl ] && ! $py -c "import keras" 2>/dev/null; then
  $py -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=${PYTHONPATH:+$PYTHONPATH:}$PWD
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
home=/tmp/ecg12-home runs=/tmp/ecg12-runs
rm -rf "$home" "$runs"; mkdir -p "$home" "$runs"
tags=()
while read -r tag flags; do
  [[ -z "$tag" || "$tag" == \#* ]] && continue
  tags+=("$tag")
  # shellcheck disable=SC2086  # flags are words
  $py -m training.train --run "$runs/$tag" --cache .devcache/ptbxl-250hz.npz \
    --time-budget "$budget" $flags ${EXTRA_FLAGS:-} >"$runs/$tag.log" 2>&1 &
done <"$plan"
# A run stops at the first epoch end past BUDGET_S; one whose epochs are long is stopped by force
# GRACE_S later (its best epoch so far is already saved), so the visit ends on time.
( sleep $((budget + ${GRACE_S:-90})); pkill -f "training.train --run $runs/" ) &
watchdog=$!
for pid in $(jobs -p | grep -v "^$watchdog$"); do wait "$pid" || true; done
kill "$watchdog" 2>/dev/null || true
for tag in "${tags[@]}"; do
  echo "== $tag"; { grep -v "cuda_timer\|bfc_allocator\|^W0000\|^I0000" "$runs/$tag.log" || true; } | tail -n 4
  [ -f "$runs/$tag/best_ig.npz" ] || continue
  $py -c "import numpy as np, sys; z = np.load(sys.argv[1]); np.savez(sys.argv[2], **{k: v.astype(np.float16) for k, v in z.items()})" \
    "$runs/$tag/best_ig.npz" "$runs/$tag/best_ig16.npz"
  split -b 15M -d "$runs/$tag/best_ig16.npz" "$home/$tag-best_ig16.npz.part"
done
tar czf "$home/00-logs.tgz" -C "$runs" $(cd "$runs" && ls *.log */meta.json 2>/dev/null || true)
bash "$(dirname "$0")/fetch.sh"
