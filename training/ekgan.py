"""EKGAN's three networks (Joo et al., MICCAI 2023) in backend-neutral Keras.

Layout: a 12-lead ECG is a one-channel image of 16 rows x W samples, the leads in rows 2-13 and
zero rows above and below (see ../shared/docs/ekgan.md). Only ``keras`` layers and ops are used, so
the same definitions train under TensorFlow on a CPU and under JAX on a lent GPU.
"""

from __future__ import annotations

import keras
from keras import layers, ops

ROWS = 16
PAD = 2  # zero rows above and below the 12 leads
ENC_FILTERS = (64, 128, 256, 512, 1024)
ENC_STRIDES = ((2, 2), (2, 2), (2, 2), (2, 2), (1, 2))
KERNEL = (2, 4)


def weight_init() -> keras.initializers.Initializer:
    """N(0, 0.02), pix2pix's initialisation, which EKGAN and the baselines share."""
    return keras.initializers.RandomNormal(0.0, 0.02)


def generator_conv(name: str) -> dict:
    """The generators' convolution settings: same padding, no bias (batch norm follows)."""
    return {"padding": "same", "use_bias": False, "kernel_initializer": weight_init(), "name": name}


def _encoder(x: keras.KerasTensor, prefix: str) -> list[keras.KerasTensor]:
    """Five strided convolutions; returns every stage (the last is the latent)."""
    stages = []
    for i, (filters, stride) in enumerate(zip(ENC_FILTERS, ENC_STRIDES, strict=True)):
        x = layers.Conv2D(filters, KERNEL, stride, **generator_conv(f"{prefix}_enc{i}"))(x)
        if i > 0:
            x = layers.BatchNormalization(name=f"{prefix}_enc{i}_bn")(x)
        x = layers.LeakyReLU(0.2, name=f"{prefix}_enc{i}_act")(x)
        stages.append(x)
    return stages


def _decoder(stages: list[keras.KerasTensor], prefix: str, skips: bool) -> keras.KerasTensor:
    """Mirror of the encoder; with ``skips`` each stage is concatenated with its encoder twin."""
    x = stages[-1]
    for i, filters in enumerate(reversed(ENC_FILTERS[:-1])):
        stride = ENC_STRIDES[len(ENC_FILTERS) - 1 - i]
        up = layers.Conv2DTranspose(filters, KERNEL, stride, **generator_conv(f"{prefix}_dec{i}"))
        x = up(x)
        x = layers.BatchNormalization(name=f"{prefix}_dec{i}_bn")(x)
        x = layers.ReLU(name=f"{prefix}_dec{i}_act")(x)
        if skips:
            x = layers.Concatenate(name=f"{prefix}_skip{i}")([x, stages[-2 - i]])
    # float32 even under a mixed-precision policy: the output is the ECG in mV.
    return layers.Conv2DTranspose(
        1,
        KERNEL,
        ENC_STRIDES[0],
        padding="same",
        kernel_initializer=weight_init(),
        dtype="float32",
        name=f"{prefix}_out",
    )(x)


def _context_block(x: keras.KerasTensor, i: int, heads: int = 4, key_dim: int = 64):
    """Self-attention across the latent's time steps, then a small feed-forward layer.

    The paper's encoder sees only ~94 samples (0.38 s at 250 Hz) at its deepest stage, less than
    one beat; a patient's precordial amplitudes are a property of the whole window. Residual,
    so a block that learns nothing leaves IG as it was. ``x``: (batch, 1, steps, channels).
    """
    channels = x.shape[-1]
    seq = layers.Reshape((-1, channels), name=f"ig_ctx{i}_seq")(x)
    h = layers.LayerNormalization(name=f"ig_ctx{i}_ln1")(seq)
    h = layers.MultiHeadAttention(heads, key_dim, name=f"ig_ctx{i}_att")(h, h)
    seq = layers.Add(name=f"ig_ctx{i}_add1")([seq, h])
    h = layers.LayerNormalization(name=f"ig_ctx{i}_ln2")(seq)
    h = layers.Dense(channels // 2, activation="relu", name=f"ig_ctx{i}_ff1")(h)
    h = layers.Dense(channels, name=f"ig_ctx{i}_ff2")(h)
    seq = layers.Add(name=f"ig_ctx{i}_add2")([seq, h])
    return layers.Reshape((1, -1, channels), name=f"ig_ctx{i}_img")(seq)


def inference_generator(width: int = 512, context: int = 0, channels: int = 1) -> keras.Model:
    """IG: Lead I image -> (12-lead image, latent). A U-Net with skip connections.

    ``context`` > 0 inserts that many self-attention blocks between encoder and decoder (our
    extension, not the paper's); the returned latent stays the encoder's, LG's counterpart.
    ``channels`` = 2 is the any-lead input (lead image + which rows were given, see
    :mod:`training.anylead`).
    """
    inp = keras.Input(
        (ROWS, width, channels), name="lead_i_image" if channels == 1 else "leads_image"
    )
    stages = _encoder(inp, "ig")
    latent = stages[-1]
    for i in range(context):
        stages[-1] = _context_block(stages[-1], i)
    return keras.Model(
        inp, [_decoder(stages, "ig", skips=True), latent], name="inference_generator"
    )


def label_generator(width: int = 512) -> keras.Model:
    """LG: real 12-lead image -> (its reconstruction, latent); its latent is IG's latent target."""
    inp = keras.Input((ROWS, width, 1), name="twelve_lead_image")
    stages = _encoder(inp, "lg")
    return keras.Model(
        inp, [_decoder(stages, "lg", skips=False), stages[-1]], name="label_generator"
    )


def discriminator(width: int = 512) -> keras.Model:
    """D: (Lead I image, 12-lead image) -> per-sample real/fake logits, U-Net shaped."""
    if width % 256:
        raise ValueError(
            f"the discriminator needs a width divisible by 256 (its strides), not {width}"
        )
    cond = keras.Input((ROWS, width, 1), name="lead_i_image")
    target = keras.Input((ROWS, width, 1), name="twelve_lead_image")
    x = layers.Concatenate(name="d_in")([cond, target])
    kernels, strides, filters = (64, 32, 16, 8, 4), (4, 4, 4, 2, 2), (32, 64, 128, 256, 512)
    stages = []
    for i, (k, s, f) in enumerate(zip(kernels, strides, filters, strict=True)):
        x = layers.Conv2D(
            f, (1, k), (1, s), padding="same", kernel_initializer=weight_init(), name=f"d_enc{i}"
        )(x)
        if i > 0:
            x = layers.BatchNormalization(name=f"d_enc{i}_bn")(x)
        x = layers.LeakyReLU(0.2, name=f"d_enc{i}_act")(x)
        stages.append(x)
    for i in range(len(kernels) - 1):
        j = len(kernels) - 1 - i
        x = layers.Conv2DTranspose(
            filters[j - 1],
            (1, kernels[j]),
            (1, strides[j]),
            padding="same",
            kernel_initializer=weight_init(),
            name=f"d_dec{i}",
        )(x)
        x = layers.BatchNormalization(name=f"d_dec{i}_bn")(x)
        x = layers.ReLU(name=f"d_dec{i}_act")(x)
        x = layers.Concatenate(name=f"d_skip{i}")([x, stages[j - 1]])
    out = layers.Conv2DTranspose(
        1,
        (1, kernels[0]),
        (1, strides[0]),
        padding="same",
        kernel_initializer=weight_init(),
        name="d_out",
    )(x)
    return keras.Model([cond, target], out, name="discriminator")


def leads_to_image(leads: keras.KerasTensor) -> keras.KerasTensor:
    """(batch, window, 12) -> (batch, 16, window, 1) with two zero rows above and below."""
    x = ops.transpose(leads, (0, 2, 1))
    x = ops.pad(x, ((0, 0), (PAD, PAD), (0, 0)))
    return ops.expand_dims(x, -1)


def lead_i_to_image(lead_i: keras.KerasTensor) -> keras.KerasTensor:
    """(batch, window) Lead I -> (batch, 16, window, 1): Lead I in all 12 lead rows."""
    x = ops.repeat(ops.expand_dims(lead_i, 1), 12, axis=1)
    x = ops.pad(x, ((0, 0), (PAD, PAD), (0, 0)))
    return ops.expand_dims(x, -1)


def image_to_leads(image: keras.KerasTensor) -> keras.KerasTensor:
    """(batch, 16, window, 1) -> (batch, 12, window): the ecg12 ONNX output layout."""
    return image[:, PAD : ROWS - PAD, :, 0]


def generate(generator: keras.Model, image: keras.KerasTensor, training: bool = False):
    """A generator's 12-lead image; generators that also return a latent (IG) return it first."""
    out = generator(image, training=training)
    return out[0] if isinstance(out, list | tuple) else out


def contract_model(generator: keras.Model, width: int = 512) -> keras.Model:
    """Wrap a generator in the ecg12 contract: ``lead_i`` (batch, window) -> ``leads``
    (batch, 12, window).

    The 16-row image layout (replication, padding, de-padding) lives inside the exported graph.
    """
    inp = keras.Input((width,), name="lead_i")
    image = generate(generator, lead_i_to_image(inp))
    out = layers.Identity(name="leads")(image_to_leads(image))
    return keras.Model(inp, out, name="ekgan_contract")
