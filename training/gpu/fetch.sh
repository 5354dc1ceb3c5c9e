#!/usr/bin/env bash
# Move the next files from /tmp/ecg12-home (left by visit.sh) to $OUT: at most 8 files and
# 60 MiB a call, the device tool's limits. Prints what is still waiting.
set -euo pipefail
home=/tmp/ecg12-home; n=0; bytes=0
for f in $(ls "$home" 2>/dev/null | sort); do
  size=$(stat -c %s "$home/$f")
  if (( n == 8 || bytes + size > 60 * 1024 * 1024 )); then break; fi
  mv "$home/$f" "${OUT:?}/"; n=$((n + 1)); bytes=$((bytes + size))
done
echo "fetched $n files ($((bytes / 1048576)) MiB); waiting: $(ls "$home" 2>/dev/null | tr '\n' ' ')"
