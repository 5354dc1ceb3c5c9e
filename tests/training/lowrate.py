"""A ``ptbxl100/``-style folder written by the tests (one FLAC file per fold and its index)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile

from training.data import LOW_RATE


def write_low_rate_fold(root: Path, records: np.ndarray, ids: list[int], fold: int) -> None:
    """A ``ptbxl100/``-style fold: records (n, 1000, 8) µV at 100 Hz, stored in reverse row
    order so that the index, not the file order, must place them."""
    root.mkdir(parents=True, exist_ok=True)
    n = len(records)
    soundfile.write(
        str(root / f"fold{fold}.flac"),
        records[::-1].reshape(-1, 8).astype(np.int16),
        int(LOW_RATE),
        subtype="PCM_16",
    )
    rows = "".join(f"{i},{fold},{n - 1 - k},60.0,1,1,0,0,0,0\n" for k, i in enumerate(ids))
    (root / "index.csv").write_text("ecg_id,strat_fold,row,age,sex,NORM,MI,STTC,CD,HYP\n" + rows)
