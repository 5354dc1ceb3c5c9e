"""Every trainable model by name: its networks (the exported generator first) and its update.

``training.train`` builds whatever ``--model`` names from here, and ``training.export`` rebuilds
the generator from a run's stored config, so a new model is one entry in :data:`RECIPES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras

from training import baselines, ekgan
from training.steps import Body, Losses, ekgan_body, low_pass_taps


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
