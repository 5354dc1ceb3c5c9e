"""EKGAN training on the CPU: network shapes, the image layout, real updates, exact resumption
and ONNX export parity. Small widths and batches keep the file fast on two cores."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

import pytest

keras = pytest.importorskip("keras", reason="needs the train extra: pip install -e '.[train]'")

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402

from training import ekgan  # noqa: E402
from training.data import (  # noqa: E402
    DEFAULT_SPEC,
    VALID_FOLD,
    Cache,
    Crops,
    build_cache,
    lead_i_only,
)
from training.export import load_generator, to_onnx  # noqa: E402
from training.onnx_weights import ig_weights, load_into  # noqa: E402
from training.recipes import Config  # noqa: E402
from training.steps import bce, low_pass_taps, seen_as_recorded  # noqa: E402
from training.train import Trainer, run, stop_on_signals  # noqa: E402

REPO = Path(__file__).resolve().parents[2]

# TensorFlow 2.21's tensors predate numpy 2's ``__array__(copy=...)``; thousands of these per run.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

WINDOW = DEFAULT_SPEC.window  # 512, the shipped model's width
#: Smallest width all three networks accept: the discriminator's strides multiply to 256.
SMALL = 256
IG_METRICS = {"ig_total", "ig_l1", "ig_latent", "ig_amp", "ig_adv"}


def full_band(windows: np.ndarray) -> Crops:
    """Training crops whose input is their own Lead I and whose targets are full band."""
    return Crops(
        windows,
        windows[:, :, 0].copy(),
        np.zeros(len(windows), np.float32),
        lead_i_only(len(windows)),
    )


def test_targets_recorded_at_100_hz_are_seen_below_50_hz() -> None:
    """The masked loss compares a 100 Hz target with the output low-passed at 50 Hz: 80 Hz in
    the output is invisible there, 10 Hz untouched; full-band targets see the output as is."""
    t = np.arange(SMALL) / DEFAULT_SPEC.fs
    slow, fast = np.sin(2 * np.pi * 10 * t), np.sin(2 * np.pi * 80 * t)
    image = np.broadcast_to((slow + fast)[None, None, :, None], (2, 16, SMALL, 1)).astype("float32")
    taps = low_pass_taps(DEFAULT_SPEC.fs)
    seen = keras.ops.convert_to_numpy(seen_as_recorded(image, np.array([0.0, 1.0]), taps))
    np.testing.assert_allclose(seen[0], image[0], atol=1e-6)
    middle = slice(len(taps), -len(taps))
    np.testing.assert_allclose(seen[1, 5, middle, 0], slow[middle], atol=0.02)
    assert seen_as_recorded(image, np.array([1.0, 1.0]), ()) is image


def numpy_weights(net: keras.Model) -> list[np.ndarray]:
    return [keras.ops.convert_to_numpy(v) for v in net.trainable_variables]


@pytest.fixture(scope="module")
def cache(shared_data: Path) -> Cache:
    """The 12 fixture records, folds 2-9; fold 9 (ecg_id 8 and 10) is the validation fold."""
    root = shared_data / "fixtures" / "ptbxl-native"
    cache = build_cache(root, DEFAULT_SPEC, tuple(range(1, 10)))
    assert len(cache.select((VALID_FOLD,))) == 2, "fixture lost its fold-9 records"
    return cache


@pytest.mark.parametrize(
    ("build", "params", "outputs"),
    [
        (ekgan.inference_generator, 12_530_433, [(None, 16, 512, 1), (None, 1, 16, 1024)]),
        (ekgan.label_generator, 11_153_665, [(None, 16, 512, 1), (None, 1, 16, 1024)]),
        (ekgan.discriminator, 2_440_257, [(None, 16, 512, 1)]),
    ],
)
def test_networks_have_the_paper_sizes(
    build: Callable[[int], keras.Model], params: int, outputs: list[tuple]
) -> None:
    """IG is the ~12.5 M-parameter U-Net of Joo et al.; the latent is 1 x 16 x 1024."""
    net = build(WINDOW)
    assert net.count_params() == params
    assert [tuple(o.shape) for o in net.outputs] == outputs


def test_context_blocks_sit_between_encoder_and_decoder() -> None:
    """Each block adds self-attention over the latent's 16 steps (~2.1 M parameters); the
    returned latent is still the encoder's, so EKGAN's latent loss means what it meant."""
    net = ekgan.inference_generator(WINDOW, context=2)
    assert net.count_params() == 16_739_585
    assert [tuple(o.shape) for o in net.outputs] == [(None, 16, 512, 1), (None, 1, 16, 1024)]
    assert net.outputs[1] is net.get_layer("ig_enc4_act").output
    wide = ekgan.inference_generator(2048, context=1)  # any width: attention has no fixed length
    assert [tuple(o.shape) for o in wide.outputs] == [(None, 16, 2048, 1), (None, 1, 64, 1024)]


def test_config_window_sets_the_stride_and_keeps_the_rest() -> None:
    assert Config().spec(DEFAULT_SPEC) is DEFAULT_SPEC
    wide = Config(window=2048).spec(DEFAULT_SPEC)
    assert (wide.window, wide.stride) == (2048, 1024)
    assert replace(wide, window=512, stride=256) == DEFAULT_SPEC


def test_best_epoch_selection_by_r_or_by_amplitude_above_a_floor() -> None:
    def scores(r: float, r2: float) -> dict:
        return {"mean_r": r, "v1_v6_amplitude_r2": r2}

    by_r, by_amp = Config(), Config(select="amplitude", min_r=0.77)
    sharp, faithful, vague = scores(0.78, 0.20), scores(0.775, 0.22), scores(0.76, 0.50)
    assert by_r.better(sharp, None) and by_r.better(sharp, faithful)
    assert not by_r.better(faithful, sharp)
    assert by_amp.better(faithful, sharp) and not by_amp.better(sharp, faithful)
    assert not by_amp.better(vague, faithful)  # more amplitude, but below the r floor
    assert not by_amp.better(vague, None)  # nothing qualifies yet: keep looking
    assert by_amp.better(sharp, vague)  # a best that misses the floor is replaced
    with pytest.raises(ValueError, match="select"):
        Config(select="loss").better(sharp, None)


def test_image_layout_round_trip() -> None:
    """Leads in rows 2-13 with two zero rows either side; IG's input repeats Lead I there."""
    leads = np.random.default_rng(0).standard_normal((2, 32, 12)).astype(np.float32)
    image = keras.ops.convert_to_numpy(ekgan.leads_to_image(leads))
    assert image.shape == (2, 16, 32, 1)
    assert not image[:, [0, 1, 14, 15]].any()
    np.testing.assert_allclose(image[:, 2:14, :, 0], leads.transpose(0, 2, 1))
    back = keras.ops.convert_to_numpy(ekgan.image_to_leads(image))
    np.testing.assert_allclose(back, leads.transpose(0, 2, 1))

    lead_i = keras.ops.convert_to_numpy(ekgan.lead_i_to_image(leads[:, :, 0]))
    assert lead_i.shape == (2, 16, 32, 1)
    assert not lead_i[:, [0, 1, 14, 15]].any()
    for row in range(2, 14):
        np.testing.assert_allclose(lead_i[:, row, :, 0], leads[:, :, 0])
    np.testing.assert_allclose(lead_i[:, 2], image[:, 2])  # Lead I sits in the target's Lead I row


@pytest.mark.slow
@pytest.mark.parametrize(
    ("model", "amp_weight", "extra"),
    [
        ("ekgan", 0.0, {}),
        ("l1", 0.5, {}),
        ("l1", 0.0, {"context": 1}),
        ("l1", 0.0, {"mixed_precision": True}),
    ],
    ids=["ekgan", "l1-amp", "l1-context", "l1-bfloat16"],
)
def test_updates_fit_a_fixed_batch(
    model: str, amp_weight: float, extra: dict, cache: Cache
) -> None:
    """Repeated updates on four real windows drive IG's L1 down; "l1" leaves LG and D alone."""
    windows = cache.leads_mv(cache.select((2, 3)))[:, 100 : 100 + SMALL]
    assert windows.shape == (4, SMALL, 12)
    cfg = Config(model=model, batch_size=4, amp_weight=amp_weight, **extra)
    trainer = Trainer(cfg, steps_per_epoch=100, width=SMALL)
    if extra.get("mixed_precision"):
        # bfloat16 arithmetic, float32 weights and a float32 ECG out
        assert trainer.ig.get_layer("ig_enc1").compute_dtype == "bfloat16"
        assert {v.dtype for v in trainer.ig.weights} == {"float32"}
        assert trainer.predict(windows[:, :, 0]).dtype == np.float32
    before = [numpy_weights(net) for net in trainer.nets]
    history = [trainer.train_batch(full_band(windows)) for _ in range(10)]
    trainer.sync()
    l1 = [float(m["ig_l1"]) for m in history]
    assert l1[-1] < 0.6 * l1[0], l1
    last = {k: float(v) for k, v in history[-1].items()}
    assert all(np.isfinite(v) for v in last.values())
    terms = 100 * last["ig_l1"] + last["ig_latent"] + amp_weight * last["ig_amp"] + last["ig_adv"]
    assert last["ig_total"] == pytest.approx(terms, rel=1e-5)
    changed = [
        any(not np.allclose(a, b) for a, b in zip(w, numpy_weights(net), strict=True))
        for w, net in zip(before, trainer.nets, strict=True)
    ]
    if model == "l1":
        assert set(last) == IG_METRICS
        assert last["ig_latent"] == last["ig_adv"] == 0.0
        assert changed == [True, False, False]
    else:
        assert set(last) == IG_METRICS | {"lg_l1", "d_loss"}
        assert float(history[-1]["lg_l1"]) < float(history[0]["lg_l1"])
        assert changed == [True, True, True]
    keras.mixed_precision.set_global_policy("float32")


@pytest.fixture(scope="module")
def runs(cache: Cache, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Two epochs straight, and one epoch (stopped by the time budget), then a fresh
    ``run(..., resume=True)`` to two.

    Ten training records, one crop each, batch 4: two steps per epoch. ``decay_after=1`` halves
    the rate in epoch 2, so a resume that lost the optimiser's step count would train differently.
    The same conditioned records cut into 256-sample windows save time; nothing in resuming
    depends on the width.
    """
    base = tmp_path_factory.mktemp("runs")
    small = replace(cache.spec, window=SMALL, stride=SMALL // 2)
    replace(cache, spec=small).save(base / "cache.npz")
    cfg = Config(
        epochs=2,
        batch_size=4,
        crops_per_record=1,
        decay_after=1,
        decay=0.5,
        cache=str(base / "cache.npz"),
    )
    straight = run(cfg, base / "straight", resume=False)
    interrupted = run(cfg, base / "resumed", resume=False, time_budget_s=1e-6)
    assert interrupted["epoch"] == 1  # the time budget stopped it after its first epoch
    with np.load(base / "resumed" / "last.npz") as z:
        after_one = dict(z)
    resumed = run(cfg, base / "resumed", resume=True)
    asked = iter([True])  # a stop (SIGTERM) requested during the first step
    stopped = run(cfg, base / "stopped", resume=False, stop=lambda: next(asked, False))
    assert (stopped["epoch"], stopped["step"]) == (0, 1)
    run(cfg, base / "stopped", resume=True)
    with (
        np.load(base / "straight" / "last.npz") as a,
        np.load(base / "resumed" / "last.npz") as b,
        np.load(base / "stopped" / "last.npz") as c,
    ):
        return {
            "meta": (straight, resumed),
            "last": (dict(a), dict(b)),
            "mid_epoch": dict(c),
            "after_one": after_one,
            "dirs": (base / "straight", base / "resumed"),
        }


def assert_same_weights(straight: dict, resumed: dict) -> None:
    assert straight.keys() == resumed.keys()
    # Most runs match bit for bit, but on a busy 2-core machine about one in four differed by up
    # to 3e-5 of an array's peak (threaded CPU reductions). A resume that lost Adam's moments or
    # step count moves every weight by about the learning rate (1e-4 here, ~1e-3 of a peak), so
    # 1e-4 of the peak still tells the two apart.
    for key, value in straight.items():
        scale = max(float(np.abs(value).max()), 1e-12)
        np.testing.assert_allclose(resumed[key], value, rtol=0, atol=1e-4 * scale, err_msg=key)


@pytest.mark.slow
def test_a_run_stopped_within_an_epoch_resumes_at_its_next_step(runs: dict) -> None:
    """Stopped after the first of an epoch's two steps and resumed, a run ends where one that
    never stopped ends (a resume that redid or skipped the step would not)."""
    assert_same_weights(runs["last"][0], runs["mid_epoch"])


@pytest.mark.slow
def test_resumed_run_equals_uninterrupted_run(runs: dict) -> None:
    straight, resumed = runs["last"]
    assert straight.keys() == resumed.keys() == runs["after_one"].keys()
    assert_same_weights(straight, resumed)
    # The second epoch moved the weights, so the comparison above is not vacuous.
    moved = [
        k
        for k in straight
        if k.startswith("ig/w") and not np.allclose(straight[k], runs["after_one"][k])
    ]
    assert len(moved) > 10
    hist_a, hist_b = (m["history"] for m in runs["meta"])
    assert [h["epoch"] for h in hist_a] == [h["epoch"] for h in hist_b] == [1, 2]
    # The fixture's fold 9 is all 500 Hz: scored as a whole, as its 500 Hz part, and given its
    # Lead I as a 100 Hz recording would give it.
    assert hist_a[0]["mean_r_500"] == hist_a[0]["mean_r"]
    assert "mean_r_100" not in hist_a[0] and -1 <= hist_a[0]["band_invariance_r"] <= 1
    for a, b in zip(hist_a, hist_b, strict=True):
        assert b["ig_l1"] == pytest.approx(a["ig_l1"], rel=1e-5)
        assert b["mean_r"] == pytest.approx(a["mean_r"], rel=1e-5, abs=1e-6)


@pytest.mark.slow
def test_best_weights_load_for_export(runs: dict) -> None:
    """``best_ig.npz`` holds IG's weights in the order that
    :func:`training.export.load_generator` reads."""
    meta = runs["meta"][0]
    expected = runs["after_one"] if meta["best"]["epoch"] == 1 else runs["last"][0]
    ig = load_generator(runs["dirs"][0] / "best_ig.npz", {"model": "ekgan"}, SMALL)
    for i, v in enumerate(ig.weights):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(v), expected[f"ig/w{i}"], atol=1e-7)


def with_random_statistics(ig: keras.Model) -> keras.Model:
    """Random batch-norm statistics, so inference-mode batch norm (and not the training-mode
    kind) must be what an export carries."""
    rng = np.random.default_rng(0)
    for layer in ig.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.gamma.shape[0]
            layer.gamma.assign(rng.uniform(0.5, 1.5, n))
            layer.beta.assign(rng.normal(0.0, 0.1, n))
            layer.moving_mean.assign(rng.normal(0.0, 0.1, n))
            layer.moving_variance.assign(rng.uniform(0.5, 2.0, n))
    return ig


@pytest.fixture(scope="module")
def random_ig() -> keras.Model:
    """An IG with random weights and random batch-norm statistics."""
    keras.utils.set_random_seed(0)
    return with_random_statistics(ekgan.inference_generator(WINDOW))


def frozen_ig_output(ig: keras.Model, x: np.ndarray) -> np.ndarray:
    """IG's 12 leads in training mode with its batch norms frozen, as a warm start trains."""
    for layer in ig.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
    image = ekgan.generate(ig, ekgan.lead_i_to_image(x), training=True)
    return keras.ops.convert_to_numpy(ekgan.image_to_leads(image))


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:In the future `np.object`:FutureWarning")
def test_onnx_weights_rebuild_the_exported_generator(tmp_path: Path) -> None:
    """An export's folded batch norms come back as frozen ones: Keras, training or not, then
    computes what the ONNX file computes (the warm start of a run on a new machine)."""
    ig = with_random_statistics(ekgan.inference_generator(SMALL, context=1))
    rng = np.random.default_rng(3)
    for w in ig.weights:  # no weight left at 0 or 1, which the exporter would fold away
        if w.path.startswith("ig_ctx") and w.path.endswith("gamma"):
            w.assign(rng.uniform(0.5, 1.5, w.shape))
        elif not w.path.endswith(("moving_variance", "gamma")):
            w.assign(rng.normal(0.0, 0.05, w.shape))
    path = to_onnx(ig, tmp_path / "ig.onnx", SMALL)
    rebuilt = ekgan.inference_generator(SMALL, context=1)
    load_into(rebuilt, ig_weights(path, context=1))
    x = np.random.default_rng(4).standard_normal((3, SMALL)).astype(np.float32)
    ref = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {"lead_i": x}
    )[0]
    got = frozen_ig_output(rebuilt, x)
    assert np.abs(got - ref).max() < 1e-5 * np.abs(ref).max()
    with pytest.raises(ValueError, match="context"):
        load_into(ekgan.inference_generator(SMALL, context=0), ig_weights(path, context=1))


@pytest.mark.slow
@pytest.mark.parametrize("file", ["ekgan-1.1.0.onnx", "remote/ekgan-2.0.0.onnx"])
def test_shipped_ekgan_warm_starts_training(file: str) -> None:
    """The committed ekgan files are starting points on any machine: rebuilt in Keras they give
    the shipped models' answers to float16 rounding (measured 4e-4 of a 1 mV peak for 1.1.0)."""
    path = REPO / "ecg12" / "models" / file
    ig = ekgan.inference_generator(WINDOW, context=2)
    load_into(ig, ig_weights(path, context=2))
    x = np.random.default_rng(5).normal(0, 0.3, (2, WINDOW)).astype(np.float32)
    ref = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {"lead_i": x}
    )[0]
    assert np.abs(frozen_ig_output(ig, x) - ref).max() < 2e-3 * np.abs(ref).max()


def test_onnx_warm_start_needs_frozen_batch_norms(cache: Cache, tmp_path: Path) -> None:
    replace(cache, spec=replace(cache.spec, window=SMALL, stride=SMALL // 2)).save(
        tmp_path / "cache.npz"
    )
    cfg = Config(
        model="l1",
        batch_size=4,
        crops_per_record=1,
        cache=str(tmp_path / "cache.npz"),
        init=str(REPO / "ecg12" / "models" / "ekgan-1.1.0.onnx"),
        context=2,
    )
    with pytest.raises(ValueError, match="--freeze-bn"):
        run(cfg, tmp_path / "run", resume=False)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::UserWarning:onnxconverter_common.float16")
@pytest.mark.filterwarnings("ignore:In the future `np.object`:FutureWarning")
@pytest.mark.parametrize("fp16", [False, True], ids=["fp32", "fp16"])
def test_onnx_export_matches_keras(random_ig: keras.Model, fp16: bool, tmp_path: Path) -> None:
    """The exported graph is the ecg12 contract and computes what Keras computes."""
    path = to_onnx(random_ig, tmp_path / "ig.onnx", WINDOW, fp16=fp16)
    proto = onnx.load(str(path))
    (inp,), (out,) = proto.graph.input, proto.graph.output
    dims = [[d.dim_param or d.dim_value for d in t.type.tensor_type.shape.dim] for t in (inp, out)]
    assert (inp.name, out.name) == ("lead_i", "leads")
    assert dims[0][1:] == [WINDOW] and dims[1][1:] == [12, WINDOW]
    assert isinstance(dims[0][0], str) and isinstance(dims[1][0], str)  # symbolic batch axis
    assert {t.type.tensor_type.elem_type for t in (inp, out)} == {onnx.TensorProto.FLOAT}
    big = {t.data_type for t in proto.graph.initializer if np.prod(t.dims) > 1000}
    assert big == {onnx.TensorProto.FLOAT16 if fp16 else onnx.TensorProto.FLOAT}
    # onnxruntime's CUDA provider runs ConvTranspose only with equal padding on both sides
    # (IG's first decoder layer pads its rows on one side; the export crops instead).
    pads = [
        list(a.ints)
        for n in proto.graph.node
        if n.op_type == "ConvTranspose"
        for a in n.attribute
        if a.name == "pads"
    ]
    assert len(pads) == 5 and all(p[: len(p) // 2] == p[len(p) // 2 :] for p in pads)

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    contract = ekgan.contract_model(random_ig, WINDOW)
    rng = np.random.default_rng(1)
    for batch in (1, 3):
        x = rng.standard_normal((batch, WINDOW)).astype(np.float32)
        ref = keras.ops.convert_to_numpy(contract(x, training=False))
        # The contract model against IG itself, the 16-row image built here in numpy.
        image = np.pad(np.repeat(x[:, None, :, None], 12, axis=1), ((0, 0), (2, 2), (0, 0), (0, 0)))
        direct = keras.ops.convert_to_numpy(random_ig(image, training=False)[0])[:, 2:14, :, 0]
        np.testing.assert_allclose(ref, direct, rtol=0, atol=1e-6)
        got = session.run(None, {"lead_i": x})[0]
        assert got.shape == ref.shape == (batch, 12, WINDOW) and got.dtype == np.float32
        err, scale = np.abs(got - ref).max(), np.abs(ref).max()
        if fp16:
            # Measured (3 weight seeds x 3 input scales): max error <= 8.4e-4 of the output's
            # peak, RMS error <= 8e-4 of its RMS. On trained EKGAN weights: 8.5e-4 and 4e-4.
            assert err < 5e-3 * scale
            assert np.sqrt(np.mean((got - ref) ** 2) / np.mean(ref**2)) < 3e-3
        else:
            assert err < 1e-4 and err < 1e-5 * scale  # measured ~3e-7 of the peak


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:In the future `np.object`:FutureWarning")
def test_onnx_export_of_context_blocks_matches_keras(tmp_path: Path) -> None:
    """Self-attention and layer norm survive the export (onnxruntime has no Erfc, so the
    blocks use ReLU rather than GELU)."""
    keras.utils.set_random_seed(1)
    ig = ekgan.inference_generator(SMALL, context=1)
    session = ort.InferenceSession(
        str(to_onnx(ig, tmp_path / "ctx.onnx", SMALL)), providers=["CPUExecutionProvider"]
    )
    x = np.random.default_rng(2).standard_normal((2, SMALL)).astype(np.float32)
    ref = keras.ops.convert_to_numpy(ekgan.contract_model(ig, SMALL)(x, training=False))
    got = session.run(None, {"lead_i": x})[0]
    assert np.abs(got - ref).max() < 1e-5 * max(np.abs(ref).max(), 1e-3)


def test_resume_takes_the_runs_own_settings(tmp_path: Path) -> None:
    """``--run DIR --resume`` alone continues a run with its saved settings (the latest, where a
    session changed some); flags given win; without --resume, the defaults."""
    from training.train import parse

    run_dir = tmp_path / "any1"
    run_dir.mkdir()
    first = asdict(Config(model="any", context=2, epochs=40, cache="all.npz", band_mask=True))
    later = dict(first, epochs=60)
    meta = {"config": first, "resumed": [{"at_epoch": 7, "config": later}]}
    (run_dir / "meta.json").write_text(json.dumps(meta))
    cfg, args = parse(["--run", str(run_dir), "--resume"])
    assert (cfg.model, cfg.context, cfg.epochs, cfg.cache, cfg.band_mask) == (
        "any",
        2,
        60,
        "all.npz",
        True,
    )
    assert args["resume"] and args["run"] == run_dir
    cfg, _ = parse(["--run", str(run_dir), "--resume", "--epochs", "80", "--lr", "3e-5"])
    assert (cfg.model, cfg.epochs, cfg.lr) == ("any", 80, 3e-5)
    cfg, _ = parse(["--run", str(run_dir), "--epochs", "5"])
    assert cfg == Config(epochs=5)


def test_discriminator_sees_the_output_as_a_100_hz_target_is_recorded() -> None:
    """With ``band_mask``, D compares a 100 Hz record's real image with the output low-passed
    the same way: otherwise the band above 50 Hz alone would tell generated from real, and the
    adversarial term would push every output to blur."""
    rng = np.random.default_rng(0)
    windows = (0.3 * rng.standard_normal((4, SMALL, 12))).astype("float32")
    crops = Crops(windows, windows[:, :, 0].copy(), np.ones(4, np.float32), lead_i_only(4))
    trainer = Trainer(Config(model="ekgan", batch_size=4, band_mask=True), 10, width=SMALL)
    ig, _, d = trainer.nets
    x, y = ekgan.lead_i_to_image(crops.lead_i), ekgan.leads_to_image(crops.leads)
    fake = ig(x, training=True)[0]
    seen = seen_as_recorded(fake, crops.low_band, low_pass_taps(DEFAULT_SPEC.fs))

    def d_loss(image: object) -> float:
        real = bce(d([x, y], training=True), 1.0)
        return float(real + bce(d([x, image], training=True), 0.0))

    expected, unmasked = d_loss(seen), d_loss(fake)
    metrics = trainer.train_batch(crops)
    trainer.sync()
    assert float(metrics["d_loss"]) == pytest.approx(expected, rel=1e-5)
    assert unmasked != pytest.approx(expected, rel=1e-5)


def test_sigterm_asks_the_run_to_checkpoint_and_stop() -> None:
    """``training.train`` turns SIGTERM (a session's end) and Ctrl-C into a stop request, which
    the run honours after its current step (see the mid-epoch resume test)."""
    import signal

    before = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        requested = stop_on_signals()
        assert not requested()
        os.kill(os.getpid(), signal.SIGTERM)
        assert requested()
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
