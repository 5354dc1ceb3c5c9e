"""Every trainable model by name: its networks (the exported generator first) and its update;
and :class:`Config`, everything that defines a run.

``training.train`` builds whatever ``--model`` names from here, and ``training.export`` rebuilds
the generator from a run's stored config, so a new model is one entry in :data:`RECIPES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import keras

from ecg12.preprocess import PreprocessSpec
from training import baselines, ekgan
from training.data import DEFAULT_CACHE
from training.steps import Body, Losses, ekgan_body, low_pass_taps


@dataclass
class Config:
    """Everything that defines a run; stored in its checkpoint and in the model card."""

    model: str = "ekgan"  # a training.recipes name: ekgan, l1 (IG, L1 only), pix2pix, cyclegan...
    epochs: int = 20
    batch_size: int = 32
    lr: float = 1e-4
    beta_1: float = 0.5
    decay_after: int = 5  # epochs at the base rate, then x decay per epoch (authors' schedule)
    decay: float = 0.95
    lam: float = 100.0
    alpha: float = 1.0
    amp_weight: float = 0.0  # amplitude (per-lead std) term, see training.steps.Losses
    init: str = ""  # start IG from a best_ig.npz, or from a shipped ekgan .onnx (--freeze-bn)
    freeze_bn: bool = False  # IG's batch norms fixed (needed from an .onnx: its BNs are folded)
    crops_per_record: int = 8
    # Mixed rates (training.data): the chance that a 500 Hz record's input is shown as a 100 Hz
    # recording gives it, and whether 100 Hz targets are compared below 50 Hz only.
    low_band_input: float = 0.0
    band_mask: bool = False
    # Fold-9 records scored each epoch (0 = all); the any-lead model scores 7 input sets.
    eval_records: int = 0
    source_fs: float = 0.0  # train on records recorded at this rate only (0 = all)
    window: int = 0  # samples per model window; 0 = the cache's (512 at 250 Hz)
    context: int = 0  # self-attention blocks between IG's encoder and decoder (0 = the paper's)
    mixed_precision: bool = False  # bfloat16 compute, float32 weights (for GPUs)
    # Best epoch: highest fold-9 mean r, or with "amplitude" the highest V1-V6 amplitude R^2
    # among epochs whose mean r is at least min_r (a fine-tune for amplitude must keep shape).
    select: str = "mean_r"
    min_r: float = 0.0
    seed: int = 0
    cache: str = str(DEFAULT_CACHE / "ptbxl-250hz.npz")

    def better(self, scores: dict, best: dict | None) -> bool:
        """Whether this epoch's fold-9 ``scores`` beat the best epoch so far."""
        if self.select == "mean_r":
            return best is None or scores["mean_r"] > best["mean_r"]
        if self.select != "amplitude":
            raise ValueError(f"select must be mean_r or amplitude, not {self.select!r}")
        if scores["mean_r"] < self.min_r:
            return False
        return (
            best is None
            or best["mean_r"] < self.min_r
            or (scores["v1_v6_amplitude_r2"] > best["v1_v6_amplitude_r2"])
        )

    def spec(self, cached: PreprocessSpec) -> PreprocessSpec:
        """The cache's conditioning with this run's window (half-window stride when changed)."""
        if not self.window or self.window == cached.window:
            return cached
        return replace(cached, window=self.window, stride=self.window // 2)


@dataclass(frozen=True)
class Recipe:
    """``nets(width, cfg)`` -> networks, ``nets[0]`` the Lead I -> 12-lead generator;
    ``body(cfg, fs)`` -> its update (``fs``: the windows' rate); ``tags`` name each network's
    arrays in checkpoints; ``architecture(cfg)`` -> one line for the model card."""

    nets: Callable[[int, Any], list[keras.Model]]
    body: Callable[[Any, float], Body]
    tags: tuple[str, ...]
    architecture: Callable[[Any], str]


def _ekgan_nets(width: int, cfg: Any) -> list[keras.Model]:
    return [
        ekgan.inference_generator(width, cfg.context),
        ekgan.label_generator(width),
        ekgan.discriminator(width),
    ]


def _any_nets(width: int, cfg: Any) -> list[keras.Model]:
    return [ekgan.inference_generator(width, cfg.context, channels=2), *_ekgan_nets(width, cfg)[1:]]


def _ig_text(cfg: Any) -> str:
    extra = f" + {cfg.context} self-attention context blocks" if cfg.context else ""
    return f"EKGAN inference generator: 2-D U-Net on a 16-row lead image{extra}"


def _losses(cfg: Any, fs: float, alpha: float, gan: bool) -> Losses:
    taps = low_pass_taps(fs) if cfg.band_mask else ()
    return Losses(cfg.lam, alpha, gan, cfg.amp_weight, taps)


RECIPES: dict[str, Recipe] = {
    # EKGAN (Joo et al. 2023): IG, LG and D; adversarial + lambda L1 + alpha latent L1.
    "ekgan": Recipe(
        _ekgan_nets,
        lambda cfg, fs: ekgan_body(_losses(cfg, fs, cfg.alpha, gan=True)),
        ("ig", "lg", "d"),
        _ig_text,
    ),
    # IG alone with L1 (and the optional amplitude term): the plain generator of the docs.
    "l1": Recipe(
        _ekgan_nets,
        lambda cfg, fs: ekgan_body(_losses(cfg, fs, 0.0, gan=False)),
        ("ig", "lg", "d"),
        _ig_text,
    ),
    # IG on any subset of the 12 leads (training.anylead), L1 (+ amplitude) on the rows not given.
    "any": Recipe(
        _any_nets,
        lambda cfg, fs: ekgan_body(_losses(cfg, fs, 0.0, gan=False)),
        ("ig", "lg", "d"),
        lambda cfg: _ig_text(cfg) + ", any subset of the 12 leads in (a second channel flags them)",
    ),
    "pix2pix": Recipe(
        lambda width, cfg: baselines.pix2pix_nets(width),
        lambda cfg, fs: baselines.pix2pix_body(cfg.lam),
        ("g", "d"),
        lambda cfg: "Pix2pix: U-Net generator + conditional PatchGAN on a 16-row lead image",
    ),
    "cyclegan": Recipe(
        lambda width, cfg: baselines.cyclegan_nets(width),
        lambda cfg, fs: baselines.cyclegan_body(),
        ("g", "f", "dy", "dx"),
        lambda cfg: "CycleGAN: ResNet generators Lead I <-> 12-lead, PatchGAN discriminators",
    ),
    "cardiogan": Recipe(
        lambda width, cfg: baselines.cardiogan_nets(width),
        lambda cfg, fs: baselines.cardiogan_body(),
        ("g", "f", "dty", "dfy", "dtx", "dfx"),
        lambda cfg: "CardioGAN: attention U-Net generators, time and frequency discriminators",
    ),
}


def architecture(cfg: Any) -> str:
    """One line for the model card."""
    return RECIPES[cfg.model].architecture(cfg)


def generator(cfg: Any, width: int) -> keras.Model:
    """The exported network of a run with config ``cfg``."""
    return RECIPES[cfg.model].nets(width, cfg)[0]
