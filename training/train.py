"""Train EKGAN (or its plain-L1 ablation, or a baseline GAN) on PTB-XL folds 1-8, select on
fold 9.

    python -m training.train --run ~/.cache/ecg12-train/runs/ekgan-v1 --epochs 20
    python -m training.train --run ~/.cache/ecg12-train/runs/ekgan-v1 --resume   # continue

Each epoch ends with a checkpoint (``last.npz``: every variable of every network and optimiser,
plus the history) and a fold-9 evaluation (within an epoch, one every ``--checkpoint-minutes``
and one on SIGTERM or Ctrl-C, which then stops the run); the generator's weights (IG's, for
EKGAN) of the best epoch (by fold-9 mean r, or see ``Config.select``) go to ``best_ig.npz``.
Random crops are drawn from ``(seed, epoch)``, so a resumed run sees the same data as an
uninterrupted one. Set ``KERAS_BACKEND`` to ``tensorflow`` (CPU) or ``jax`` (GPU).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

# TensorFlow runs independent ops concurrently on CPUs; their order changed float sums in about
# one run in four even with op determinism on. One inter-op thread makes a seeded run repeatable.
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from ecg12.inference import finish, infer  # noqa: E402
from ecg12.preprocess import PreprocessSpec  # noqa: E402
from ecg12.writers import atomic_file  # noqa: E402
from training import anylead, ekgan, metrics  # noqa: E402
from training.data import (  # noqa: E402
    DEFAULT_SPEC,
    LOW_RATE,
    TRAIN_FOLDS,
    VALID_FOLD,
    Cache,
    Crops,
    describe,
    random_crops,
)
from training.harness import write_json  # noqa: E402
from training.recipes import RECIPES, Config  # noqa: E402
from training.steps import Stepper  # noqa: E402


@keras.saving.register_keras_serializable("ecg12")
class EpochDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Constant for ``hold`` epochs, then multiplied by ``decay`` once per epoch."""

    def __init__(self, lr: float, steps_per_epoch: int, hold: int, decay: float) -> None:
        self.lr, self.steps_per_epoch, self.hold, self.decay = lr, steps_per_epoch, hold, decay

    def __call__(self, step):
        epoch = keras.ops.floor(keras.ops.cast(step, "float32") / self.steps_per_epoch)
        return self.lr * keras.ops.power(self.decay, keras.ops.maximum(epoch - self.hold + 1, 0.0))

    def get_config(self) -> dict:
        return {
            "lr": self.lr,
            "steps_per_epoch": self.steps_per_epoch,
            "hold": self.hold,
            "decay": self.decay,
        }


class Trainer:
    """Networks, optimisers, the compiled step and the run's bookkeeping."""

    def __init__(
        self,
        cfg: Config,
        steps_per_epoch: int,
        width: int,
        scale_mv: float = 1.0,
        fs: float = DEFAULT_SPEC.fs,
    ) -> None:
        keras.utils.set_random_seed(cfg.seed)
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            # Same seed, same weights: without this, threaded reductions differ run to run.
            tf.config.experimental.enable_op_determinism()
        keras.mixed_precision.set_global_policy(
            "mixed_bfloat16" if cfg.mixed_precision else "float32"
        )
        self.cfg = cfg
        self.scale_mv = scale_mv
        recipe = RECIPES[cfg.model]
        self.tags = recipe.tags
        self.any_lead = cfg.model == "any"
        self.nets = recipe.nets(width, cfg)
        if cfg.freeze_bn:
            for layer in self.nets[0].layers:
                if isinstance(layer, keras.layers.BatchNormalization):
                    layer.trainable = False
        sched = EpochDecay(cfg.lr, steps_per_epoch, cfg.decay_after, cfg.decay)
        self.opts = [keras.optimizers.Adam(sched, beta_1=cfg.beta_1) for _ in self.nets]
        for net, opt in zip(self.nets, self.opts, strict=True):
            opt.build(net.trainable_variables)
        self.stepper = Stepper(self.nets, self.opts, recipe.body(cfg, fs))

    @property
    def ig(self) -> keras.Model:
        """The generator that is exported (EKGAN's IG, or a baseline's Lead I -> 12-lead net)."""
        return self.nets[0]

    def train_batch(self, crops: Crops) -> dict:
        """One update on a batch of :class:`training.data.Crops`; returns the losses as backend
        scalars (left on the device so that steps are not serialised by a host copy)."""
        if self.any_lead:
            leads = anylead.given(crops.leads, crops.present)
            leads[:, 0] = crops.lead_i * crops.present[:, :1]  # Lead I as the input band has it
            x = anylead.to_image(leads / self.scale_mv, crops.present)
        else:
            x = ekgan.lead_i_to_image(crops.lead_i / self.scale_mv)
        y = ekgan.leads_to_image(crops.leads / self.scale_mv)
        return self.stepper.step(x, y, crops.low_band)

    def sync(self) -> None:
        self.stepper.sync()

    def predict(self, windows: np.ndarray, present: np.ndarray | None = None) -> np.ndarray:
        """The ecg12 contract on the current IG: (batch, window) -> (batch, 12, window), or for
        the any-lead model (batch, 12, window) given leads and (batch, 12) flags -> the same."""
        if present is None:
            image = ekgan.generate(self.ig, ekgan.lead_i_to_image(windows))
        else:
            image = ekgan.generate(self.ig, anylead.to_image(windows, present))
        return keras.ops.convert_to_numpy(ekgan.image_to_leads(image)).astype(np.float32)

    def variables(self) -> dict[str, np.ndarray]:
        out = {}
        for tag, net, opt in zip(self.tags, self.nets, self.opts, strict=True):
            for i, v in enumerate(net.weights):
                out[f"{tag}/w{i}"] = keras.ops.convert_to_numpy(v.value)
            for i, v in enumerate(opt.variables):
                out[f"{tag}/opt{i}"] = keras.ops.convert_to_numpy(v.value)
        return out

    def load_variables(self, values: dict[str, np.ndarray]) -> None:
        for tag, net, opt in zip(self.tags, self.nets, self.opts, strict=True):
            for i, v in enumerate(net.weights):
                v.assign(values[f"{tag}/w{i}"])
            for i, v in enumerate(opt.variables):
                v.assign(values[f"{tag}/opt{i}"])
        self.stepper.reload()


def reconstruct(trainer: Trainer, lead_i: np.ndarray, spec: PreprocessSpec) -> np.ndarray:
    """(records, samples) conditioned Lead I in mV -> (records, samples, 12) mV, through the
    runtime's own windowing and stitching."""
    units = [x / spec.scale_mv for x in lead_i]
    raw = infer(units, spec, trainer.predict)
    return np.stack([finish(p.leads, x, spec) for p, x in zip(raw, units, strict=True)])


def evaluate(trainer: Trainer, cache: Cache, idx: np.ndarray, spec: PreprocessSpec) -> dict:
    """Fold scores of the current generator: on all of ``idx``, on its 500 Hz and 100 Hz parts
    (``*_500``, ``*_100``), and on the 500 Hz part given its Lead I as a 100 Hz recording gives
    it (``*_500_low_in``), plus how far those two answers differ (``band_invariance_r``: mean r
    between them over 11 leads; 1 = the band above 50 Hz changes nothing)."""
    if trainer.cfg.eval_records:
        idx = idx[np.random.default_rng(0).permutation(len(idx))[: trainer.cfg.eval_records]]
    real = cache.leads_mv(idx)
    if trainer.any_lead:
        return anylead.evaluate(trainer.predict, real, spec)
    rec = reconstruct(trainer, real[:, :, 0], spec)
    scores = metrics.score(real, rec, spec.fs)
    high = cache.source_fs[idx] != LOW_RATE
    for tag, part in (("500", high), ("100", ~high)):
        if part.any():
            scores.update(_summary(metrics.score(real[part], rec[part], spec.fs), tag))
    if high.any():
        low_in = reconstruct(trainer, cache.lead_i_low[idx[high]] / np.float32(1000), spec)
        scores.update(_summary(metrics.score(real[high], low_in, spec.fs), "500_low_in"))
        same = metrics.score(rec[high], low_in, spec.fs)
        scores["band_invariance_r"] = same["mean_r"]
        scores["band_invariance_mae_mv"] = same["mae_mv"]
    return scores


SUMMARY = ("mean_r", "mae_mv", "rmse_mv", "v1_v6_amplitude_slope", "v1_v6_amplitude_r2")


def _summary(scores: dict, tag: str) -> dict:
    return {f"{k}_{tag}": scores[k] for k in SUMMARY}


def save_atomic(path: Path, **arrays: np.ndarray) -> None:
    with atomic_file(path) as f:
        np.savez(f, **arrays)


def save_ig(trainer: Trainer, path: Path) -> None:
    save_atomic(
        path,
        **{f"w{i}": keras.ops.convert_to_numpy(v.value) for i, v in enumerate(trainer.ig.weights)},
    )


def run(
    cfg: Config,
    run_dir: Path,
    resume: bool,
    time_budget_s: float | None = None,
    limit_records: int | None = None,
    checkpoint_s: float | None = None,
    stop: Callable[[], bool] = lambda: False,
) -> dict:
    """Train until ``cfg.epochs`` (or the time budget) is reached; returns the run's history.

    Besides each epoch's checkpoint, one every ``checkpoint_s`` seconds within an epoch, and one
    when ``stop()`` turns true (then the run returns): an epoch of EKGAN's three networks on all
    of PTB-XL takes 20-40 minutes on two CPU cores, and a session may end inside one. A resume
    continues at the step after the checkpoint, on the same crops.
    """
    cache = Cache.load(Path(cfg.cache).expanduser())
    train_idx = cache.select(TRAIN_FOLDS, cfg.source_fs or None)
    valid_idx = cache.select((VALID_FOLD,))
    if limit_records:
        train_idx, valid_idx = train_idx[:limit_records], valid_idx[:limit_records]
    steps = len(train_idx) * cfg.crops_per_record // cfg.batch_size
    if steps == 0:
        raise ValueError(
            f"{len(train_idx)} records x {cfg.crops_per_record} crops make less than "
            f"one batch of {cfg.batch_size}"
        )
    spec = cfg.spec(cache.spec)
    trainer = Trainer(cfg, steps, spec.window, spec.scale_mv, spec.fs)
    if cfg.init:
        _warm_start(trainer, Path(cfg.init).expanduser())
    run_dir.mkdir(parents=True, exist_ok=True)
    meta = {
        "config": asdict(cfg),
        "history": [],
        "best": None,
        "epoch": 0,
        "train_seconds": 0.0,
        "backend": keras.backend.backend(),
        "hardware": _hardware(),
        "spec": spec.to_dict(),
        "data": describe(cache, train_idx, valid_idx),
    }
    last = run_dir / "last.npz"
    if resume and last.exists():
        meta = {"data": meta["data"], **json.loads((run_dir / "meta.json").read_text())}
        # Later sessions may change settings (say, more epochs): keep a record of each.
        meta.setdefault("resumed", []).append(
            {"at_epoch": meta["epoch"], "at_step": meta.get("step", 0), "config": asdict(cfg)}
        )
        with np.load(last) as z:
            trainer.load_variables(dict(z))
        print(f"resumed {run_dir} at epoch {meta['epoch']}, step {meta.get('step', 0)}")
    log = _tensorboard(run_dir)
    if cfg.init and not meta["history"]:
        # Epoch 0: the starting weights on this run's fold 9, the mark every epoch must beat.
        meta["start"] = {
            k: v
            for k, v in evaluate(trainer, cache, valid_idx, spec).items()
            if k not in ("record_mae_mv", "per_lead")
        }
        print(f"start | fold 9 {metrics.summary_line(meta['start'])}", flush=True)
    t_start = time.time()
    while meta["epoch"] < cfg.epochs:
        epoch = meta["epoch"]
        rng = np.random.default_rng([cfg.seed, epoch])
        crops = random_crops(
            cache,
            train_idx,
            cfg.crops_per_record,
            rng,
            spec.window,
            cfg.low_band_input,
            anylead.draw_sets if trainer.any_lead else None,
        )
        # Within an epoch stopped at a checkpoint: its steps done, loss sums and seconds so far.
        done, partial = meta.pop("step", 0), meta.pop("partial", {"sums": {}, "seconds": 0.0})
        sums: dict = dict(partial["sums"])
        saved = time.time()
        t0 = saved - partial["seconds"]
        for b in range(done, steps):
            batch = slice(b * cfg.batch_size, (b + 1) * cfg.batch_size)
            m = trainer.train_batch(Crops(*(part[batch] for part in crops)))
            for k, v in m.items():
                sums[k] = sums[k] + v if k in sums else v
            stopping = stop()
            due = checkpoint_s and time.time() - saved > checkpoint_s
            if b + 1 < steps and (stopping or due):
                _mid_epoch_checkpoint(trainer, meta, run_dir, b + 1, sums, time.time() - t0)
                saved = time.time()
                rate = (b + 1 - done) * cfg.batch_size / max(saved - t0 - partial["seconds"], 1e-9)
                print(f"epoch {epoch + 1} step {b + 1}/{steps} ({rate:.0f} win/s)", flush=True)
                if stopping:
                    print("stopped; resume with --resume", flush=True)
                    return meta
                meta.pop("step"), meta.pop("partial")
        sums = {k: float(v) for k, v in sums.items()}
        trainer.sync()
        seconds = time.time() - t0
        scores = evaluate(trainer, cache, valid_idx, spec)
        entry = {
            "epoch": epoch + 1,
            "seconds": seconds,
            "windows_per_s": steps * cfg.batch_size / seconds,
            **{k: v / steps for k, v in sums.items()},
            **{
                k: v
                for k, v in scores.items()
                if k not in ("records", "per_lead", "record_mae_mv", "per_set")
            },
        }
        meta["history"].append(entry)
        meta["epoch"] = epoch + 1
        meta["train_seconds"] += seconds
        if cfg.better(scores, meta["best"]):
            meta["best"] = {
                "epoch": epoch + 1,
                **{k: v for k, v in scores.items() if k != "record_mae_mv"},
            }
            save_ig(trainer, run_dir / "best_ig.npz")
        save_atomic(last, **trainer.variables())
        write_json(run_dir / "meta.json", meta)
        log(entry)
        print(
            f"epoch {epoch + 1}/{cfg.epochs} {seconds:.0f} s ({entry['windows_per_s']:.0f} win/s) "
            f"ig_l1 {entry['ig_l1']:.4f} | fold 9 {metrics.summary_line(scores)}",
            flush=True,
        )
        if time_budget_s and time.time() - t_start > time_budget_s:
            print("time budget reached; resume with --resume")
            break
    return meta


def _mid_epoch_checkpoint(
    trainer: Trainer, meta: dict, run_dir: Path, step: int, sums: dict, seconds: float
) -> None:
    """``last.npz`` and ``meta.json`` after ``step`` steps of an epoch, with the epoch's loss
    sums and seconds so far, which a resume continues from."""
    trainer.sync()
    meta["step"] = step
    meta["partial"] = {"sums": {k: float(v) for k, v in sums.items()}, "seconds": seconds}
    save_atomic(run_dir / "last.npz", **trainer.variables())
    write_json(run_dir / "meta.json", meta)


def _warm_start(trainer: Trainer, path: Path) -> None:
    """IG's weights from a run's ``best_ig.npz`` or from a shipped ekgan ONNX file; the any-lead
    model may start from a Lead I model's (see :func:`training.anylead.widen`)."""
    if path.suffix == ".onnx":
        from training.onnx_weights import ig_weights, load_into

        if not trainer.cfg.freeze_bn:
            raise ValueError(
                f"{path}: an ONNX export has its batch norms folded; train with --freeze-bn"
            )
        weights = ig_weights(path, trainer.cfg.context)
        ig = _receiver(trainer, weights["ig_enc0/kernel"].shape[2])
        load_into(ig, weights)
    else:
        with np.load(path) as z:
            ig = _receiver(trainer, z["w0"].shape[2])
            for i, v in enumerate(ig.weights):
                v.assign(z[f"w{i}"].astype("float32"))
    if ig is not trainer.ig:
        anylead.widen(ig, trainer.ig)
    trainer.stepper.reload()


def _receiver(trainer: Trainer, channels: int) -> keras.Model:
    """The IG that weights with ``channels`` input channels load into: the trainer's own, or a
    Lead I IG whose weights then widen into the any-lead one."""
    if channels == trainer.ig.input.shape[-1]:
        return trainer.ig
    return ekgan.inference_generator(trainer.ig.input.shape[2], trainer.cfg.context, channels)


def _hardware() -> str:
    """What the run trained on, for the model card."""
    if keras.backend.backend() == "jax":
        import jax

        return ", ".join(sorted({d.device_kind for d in jax.devices()}))
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return f"{len(gpus)} GPU" if gpus else f"CPU ({os.cpu_count()} cores)"


def _tensorboard(run_dir: Path):
    """TensorBoard scalars when TensorFlow is importable; the JSON history is always written."""
    try:
        import tensorboard  # noqa: F401  (tf.summary needs it)
        import tensorflow as tf
    except ImportError:
        return lambda entry: None
    writer = tf.summary.create_file_writer(str(run_dir / "tb"))

    def log(entry: dict) -> None:
        with writer.as_default():
            for k, v in entry.items():
                if k != "epoch":
                    tf.summary.scalar(k, v, step=entry["epoch"])
        writer.flush()

    return log


def parse(argv: list[str] | None = None) -> tuple[Config, dict]:
    """The run's settings and the other options (run folder, resume, budget, limit).

    Settings given on the command line win; with ``--resume`` the others are the run's own, as
    last saved, so ``--run DIR --resume`` alone continues the run as it was; else the defaults.
    """
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--run", type=Path, required=True, help="run folder (checkpoints, logs)")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--time-budget", type=float, default=None, help="stop after this many seconds")
    p.add_argument("--limit-records", type=int, default=None, help="smoke tests only")
    p.add_argument(
        "--checkpoint-minutes",
        type=float,
        default=10.0,
        help="also checkpoint this often within an epoch (SIGTERM or Ctrl-C checkpoints too)",
    )
    fields = Config.__dataclass_fields__
    for f in fields.values():
        flag = "--" + f.name.replace("_", "-")
        if isinstance(f.default, bool):
            p.add_argument(flag, action="store_true", default=argparse.SUPPRESS)
        else:
            p.add_argument(flag, type=type(f.default), default=argparse.SUPPRESS)
    args = vars(p.parse_args(argv))
    given = {k: args.pop(k) for k in list(args) if k in fields}
    args["run"] = args["run"].expanduser()
    saved: dict = {}
    if args["resume"] and (args["run"] / "meta.json").exists():
        meta = json.loads((args["run"] / "meta.json").read_text())
        saved = (meta.get("resumed") or [meta])[-1]["config"]
    return Config(**{k: v for k, v in saved.items() if k in fields} | given), args


def stop_on_signals() -> Callable[[], bool]:
    """Whether SIGTERM or SIGINT arrived: the run then checkpoints after its current step."""
    received: list[int] = []

    def note(signum: int, frame: object) -> None:
        received.append(signum)
        print(f"signal {signum}: checkpointing after this step", flush=True)

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, note)
    return lambda: bool(received)


def main(argv: list[str] | None = None) -> None:
    cfg, args = parse(argv)
    meta = run(
        cfg,
        args["run"],
        args["resume"],
        args["time_budget"],
        args["limit_records"],
        args["checkpoint_minutes"] * 60,
        stop_on_signals(),
    )
    best = meta["best"] or {}
    print(json.dumps({k: v for k, v in best.items() if k not in ("per_lead", "per_set")}))


if __name__ == "__main__":
    main()
