"""EKGAN training under the JAX backend (what the lent GPUs run), on forced host CPU devices.

The test process has Keras on TensorFlow already, so each run is a subprocess with
``KERAS_BACKEND=jax``. The same few updates on one device and on two (data-parallel: the state
replicated, each batch split over a "batch" mesh) must agree, and the two-device run must really
have split the batch.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

if importlib.util.find_spec("jax") is None:
    pytest.skip("jax is not installed (the train extra installs it)", allow_module_level=True)

REPO = Path(__file__).resolve().parents[2]
UPDATES = 4
LR = 1e-4  # Config's default learning rate
#: One- vs two-device runs differ only in float summation order. Losses: measured 8e-8 relative on
#: the machine that wrote this test, 3.8e-5 on another CPU (its XLA sums in another order, and the
#: amplitude term's window std amplifies it by the fourth update); an update from half the batch
#: would move them far more (not measured).
LOSS_RTOL = 1e-4
#: Weights: measured 2e-4 of an array's peak for a kernel. Adam moves every element ~LR per
#: update whatever its gradient's size, so elements with near-zero gradients (batch-norm betas
#: starting at 0) differ by rounding-level noise scaled up to a fraction of LR: measured up to
#: 0.04 x LR x UPDATES. A real error (a device's half-batch gradient) moves elements by ~LR.
PEAK_RTOL, ADAM_NOISE = 1e-4, 0.1 * LR * UPDATES

# argv: output .npz, device count, updates. Writes losses, IG's weights and the sharding facts.
SCRIPT = """
import json, sys
import numpy as np
import jax, keras
from training.data import Crops, lead_i_only
from training.recipes import Config
from training.train import Trainer

out, n, updates = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
assert keras.backend.backend() == "jax" and jax.device_count() == n, jax.devices()
t = np.arange(256) / 250.0
rng = np.random.default_rng(0)
leads = np.sin(2 * np.pi * 1.2 * t[None, :, None] + np.arange(12) / 3 + np.arange(4)[:, None, None])
windows = (leads * rng.uniform(0.3, 1.5, (4, 1, 12)) + 0.05 * rng.standard_normal((4, 256, 12)))
trainer = Trainer(Config(model="l1", batch_size=4), steps_per_epoch=10, width=256)
step, fed = trainer.stepper._step, []  # what the jitted step is given: x's sharding


def spy(state, x, y, band):
    fed.append(x.sharding)
    return step(state, x, y, band)


trainer.stepper._step = spy
def crops(w):
    w = w.astype(np.float32)
    return Crops(w, w[:, :, 0].copy(), np.zeros(len(w), np.float32), lead_i_only(len(w)))


history = [trainer.train_batch(crops(windows)) for _ in range(updates)]
trainer.sync()
facts = {}
if trainer.stepper.sharding:
    facts["x_devices"] = len(fed[-1].device_set)
    facts["x_shard"] = list(fed[-1].shard_shape((4, 16, 256, 1)))
    facts["state_devices"] = len(jax.tree.leaves(trainer.stepper.state)[0].sharding.device_set)
    facts["metric_devices"] = len(history[-1]["ig_l1"].sharding.device_set)
    try:
        trainer.train_batch(crops(windows[:3]))
    except ValueError as e:
        facts["odd_batch_error"] = str(e)
arrays = {f"ig{i}": keras.ops.convert_to_numpy(v) for i, v in enumerate(trainer.ig.weights)}
for k in history[0]:
    arrays["loss_" + k] = np.array([float(m[k]) for m in history])
np.savez(out, facts=json.dumps(facts), **arrays)
"""


def start_jax(out: Path, devices: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "KERAS_BACKEND": "jax",
        "JAX_PLATFORMS": "cpu",
        "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}",
        "PYTHONPATH": str(REPO),
    }
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(out), str(devices), str(UPDATES)],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[int, dict]:
    """The one- and two-device runs, side by side (most of their time is single-threaded)."""
    tmp = tmp_path_factory.mktemp("jax")
    procs = {n: start_jax(tmp / f"jax{n}.npz", n) for n in (1, 2)}
    results = {}
    for n, proc in procs.items():
        try:
            log, _ = proc.communicate(timeout=600)
        finally:
            proc.kill()
        assert proc.returncode == 0, f"{n} device(s):\n{log[-4000:]}"
        with np.load(tmp / f"jax{n}.npz") as z:
            results[n] = {k: z[k] for k in z.files}
    return results


def facts(run: dict) -> dict:
    return json.loads(str(run["facts"]))


@pytest.mark.slow
def test_jax_updates_lower_the_loss(runs: dict[int, dict]) -> None:
    """The JAX path trains at all: IG's L1 falls over a few updates on a fixed batch."""
    l1 = runs[1]["loss_ig_l1"]
    assert len(l1) == UPDATES and np.all(np.isfinite(l1))
    assert l1[-1] < 0.9 * l1[0], l1
    assert np.all(runs[1]["loss_ig_adv"] == 0.0)
    assert facts(runs[1]) == {}, "one device: nothing is sharded"


@pytest.mark.slow
def test_two_devices_split_the_batch_and_match_one(runs: dict[int, dict]) -> None:
    """Data-parallel updates (batch 4 as 2 x 2) equal one device's up to summation order."""
    assert facts(runs[2]) | {"odd_batch_error": None} == {
        "x_devices": 2,
        "x_shard": [2, 16, 256, 1],
        "state_devices": 2,
        "metric_devices": 2,
        "odd_batch_error": None,
    }
    one, two = runs[1], runs[2]
    assert one.keys() == two.keys()
    for k in one:
        if k.startswith("loss_"):
            np.testing.assert_allclose(two[k], one[k], rtol=LOSS_RTOL, err_msg=k)
        elif k.startswith("ig"):
            atol = PEAK_RTOL * float(np.abs(one[k]).max()) + ADAM_NOISE
            off = np.abs(two[k] - one[k]) > atol
            # A few elements whose gradients are near zero carry rounding noise that Adam scales
            # up to a fraction of LR (this machine's XLA: 58 of 65,536, up to 0.3 x LR x
            # UPDATES); a real error (a device's half-batch gradient) moves nearly all of them.
            assert off.mean() < 0.005, f"{k}: {off.sum()} of {off.size} beyond {atol:.2e}"
            assert np.abs(two[k] - one[k]).max() < LR * UPDATES, k


@pytest.mark.slow
def test_batch_not_divisible_by_devices_is_refused(runs: dict[int, dict]) -> None:
    error = facts(runs[2]).get("odd_batch_error", "")
    assert "batch size 3 is not divisible by the 2 devices" in error, error
