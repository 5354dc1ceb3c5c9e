"""The any-lead model's training side: input sets, the two-channel image, its warm start from a
Lead I model, the loss on rows not given, the ONNX contract and the linear floor."""

from __future__ import annotations

from pathlib import Path

import pytest

keras = pytest.importorskip("keras", reason="needs the train extra: pip install -e '.[train]'")

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402

from ecg12.leads import LEAD_NAMES, derive_limb_leads  # noqa: E402
from training import anylead, ekgan  # noqa: E402
from training.data import Crops  # noqa: E402
from training.export import to_onnx  # noqa: E402
from training.recipes import Config  # noqa: E402
from training.steps import rows_to_learn  # noqa: E402
from training.train import Trainer  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

SMALL = 256


def test_two_limb_leads_complete_all_six() -> None:
    """Any two limb leads determine I and II, so the runtime gives the model all six."""
    assert anylead.set_name(anylead.mask(("II", "aVL"))) == "I+II+III+aVR+aVL+aVF"
    assert anylead.set_name(anylead.mask(("II", "V5"))) == "II+V5"
    assert anylead.set_name(anylead.mask(("V1",))) == "V1"


def test_drawn_sets_are_complete_and_varied() -> None:
    present = anylead.draw_sets(np.random.default_rng(0), 4000)
    limb = present[:, :6].sum(axis=1)
    assert present.sum(axis=1).min() >= 1
    assert set(limb.astype(int)) <= {0, 1, 6}  # 2-5 limb leads never reach the model
    names = {anylead.set_name(p) for p in present}
    assert {"I", "II", "V1", "V5", "I+II+III+aVR+aVL+aVF", "II+V5"} <= names
    lead_i_alone = np.mean([anylead.set_name(p) == "I" for p in present])
    assert 0.1 < lead_i_alone < 0.2  # the wearables' lead stays well trained


def test_image_of_lead_i_alone_is_ekgans_input() -> None:
    """Channel 0 of Lead I alone is EKGAN's own image; rows not given repeat the first given
    lead; channel 1 flags the given rows (and never the padding rows)."""
    rng = np.random.default_rng(1)
    leads = rng.standard_normal((2, 12, SMALL)).astype(np.float32)
    present = np.stack([anylead.mask(("I",)), anylead.mask(("II", "V5"))])
    image = keras.ops.convert_to_numpy(anylead.to_image(leads * present[:, :, None], present))
    assert image.shape == (2, 16, SMALL, 2)
    ref = keras.ops.convert_to_numpy(ekgan.lead_i_to_image(leads[:1, 0]))
    np.testing.assert_array_equal(image[:1, :, :, :1], ref)
    rows = image[1, 2:14, :, 0]
    np.testing.assert_array_equal(rows[LEAD_NAMES.index("V5")], leads[1, 10])
    for i in range(12):
        if i != LEAD_NAMES.index("V5"):
            np.testing.assert_array_equal(rows[i], leads[1, 1])
    np.testing.assert_array_equal(image[1, :, 0, 1], np.pad(present[1], 2))


def test_widened_generator_starts_as_the_lead_i_model() -> None:
    """With the flags channel's kernel at zero, the any-lead IG answers Lead I alone exactly as
    the Lead I IG it was widened from."""
    keras.utils.set_random_seed(2)
    source = ekgan.inference_generator(SMALL, context=1)
    target = ekgan.inference_generator(SMALL, context=1, channels=2)
    anylead.widen(source, target)
    x = np.random.default_rng(3).normal(0, 0.3, (2, SMALL)).astype(np.float32)
    given = np.zeros((2, 12, SMALL), np.float32)
    given[:, 0] = x
    present = np.stack([anylead.mask(("I",))] * 2)
    a = ekgan.generate(source, ekgan.lead_i_to_image(x))
    b = ekgan.generate(target, anylead.to_image(given, present))
    a, b = keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b)
    assert np.abs(b - a).max() < 1e-4 * np.abs(a).max()  # float sums over 2 channels, not 1


def test_loss_ignores_given_rows() -> None:
    present = np.stack([anylead.mask(("II", "V5"))])
    image = anylead.to_image(np.ones((1, 12, SMALL), np.float32) * present[:, :, None], present)
    weight = keras.ops.convert_to_numpy(rows_to_learn(image))[0, :, 0, 0]
    np.testing.assert_array_equal(weight, 1 - np.pad(present[0], 2))
    assert rows_to_learn(np.zeros((1, 16, SMALL, 1), np.float32)) is None


def test_any_lead_updates_fit_a_fixed_batch() -> None:
    """Repeated updates drive the loss on the rows not given down."""
    rng = np.random.default_rng(4)
    t = np.arange(SMALL) / 250
    leads = np.sin(2 * np.pi * (1 + np.arange(12))[None, None, :] * t[None, :, None] / 3)
    leads = np.repeat(leads, 4, axis=0).astype(np.float32) * rng.uniform(0.5, 1.5, (4, 1, 12))
    leads = derive_limb_leads(leads.reshape(-1, 12)).reshape(leads.shape).astype(np.float32)
    present = anylead.draw_sets(rng, 4)
    crops = Crops(leads, leads[:, :, 0].copy(), np.zeros(4, np.float32), present)
    cfg = Config(model="any", batch_size=4, lr=1e-3)
    trainer = Trainer(cfg, steps_per_epoch=10, width=SMALL)
    l1 = [float(trainer.train_batch(crops)["ig_l1"]) for _ in range(10)]
    assert l1[-1] < 0.6 * l1[0], l1


@pytest.mark.filterwarnings("ignore::UserWarning:onnxconverter_common.float16")
@pytest.mark.filterwarnings("ignore:In the future `np.object`:FutureWarning")
def test_onnx_export_is_the_any_lead_contract(tmp_path: Path) -> None:
    keras.utils.set_random_seed(5)
    ig = ekgan.inference_generator(SMALL, context=1, channels=2)
    session = ort.InferenceSession(
        str(to_onnx(ig, tmp_path / "any.onnx", SMALL, fp16=True)),
        providers=["CPUExecutionProvider"],
    )
    assert [i.name for i in session.get_inputs()] == ["given", "present"]
    assert [o.name for o in session.get_outputs()] == ["leads"]
    present = np.stack([anylead.mask(n) for n in anylead.EVAL_SETS])
    given = np.random.default_rng(6).normal(0, 0.3, (len(present), 12, SMALL)).astype(np.float32)
    given *= present[:, :, None]
    got = session.run(None, {"given": given, "present": present})[0]
    ref = keras.ops.convert_to_numpy(
        ekgan.image_to_leads(ekgan.generate(ig, anylead.to_image(given, present)))
    )
    assert got.shape == ref.shape == (len(present), 12, SMALL)
    assert np.abs(got - ref).max() < 5e-3 * np.abs(ref).max()


def test_linear_floor_recovers_a_linear_relation() -> None:
    """Chest leads made as known filters of I and II are found again by the floor of the limb
    set, and the given leads pass through untouched."""
    rng = np.random.default_rng(7)
    n, records = 600, 12
    base = rng.standard_normal((records, n, 2))
    leads = np.zeros((records, n, 12))
    leads[..., :2] = base
    leads = derive_limb_leads(leads.reshape(-1, 12)).reshape(leads.shape)
    for k in range(6):
        leads[..., 6 + k] = (k + 1) * base[..., 0] - 0.5 * np.roll(base[..., 1], k + 1, axis=1)
    present = anylead.mask(("I", "II"))
    fir = anylead.fit_floor(leads, present, taps=15)
    out = anylead.apply_floor(leads, present, fir)
    np.testing.assert_allclose(out[..., :6], leads[..., :6], atol=1e-6)
    inner = slice(20, -20)
    np.testing.assert_allclose(out[:, inner, 6:], leads[:, inner, 6:], atol=1e-3)


@pytest.mark.slow
def test_shipped_any_lead_model_warm_starts_training() -> None:
    """The committed any-lead file is a starting point on any machine: rebuilt in Keras (batch
    norms frozen) it gives the shipped model's answers to float16 rounding."""
    from training.onnx_weights import ig_weights, load_into

    path = Path(__file__).resolve().parents[2] / "ecg12" / "models" / "ekgan-any-1.0.0.onnx"
    ig = ekgan.inference_generator(512, context=2, channels=2)
    load_into(ig, ig_weights(path, context=2))
    for layer in ig.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
    present = np.stack([anylead.mask(n) for n in anylead.EVAL_SETS])
    given = np.random.default_rng(8).normal(0, 0.3, (len(present), 12, 512)).astype(np.float32)
    given *= present[:, :, None]
    ref = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {"given": given, "present": present}
    )[0]
    image = ekgan.generate(ig, anylead.to_image(given, present), training=True)
    got = keras.ops.convert_to_numpy(ekgan.image_to_leads(image))
    assert np.abs(got - ref).max() < 2e-3 * np.abs(ref).max()
