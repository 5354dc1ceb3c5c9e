"""The EKGAN paper's three baselines (Pix2pix, CycleGAN, CardioGAN), adapted to ECG.

Every model works on EKGAN's image layout (see ../shared/docs/ekgan.md): an ECG is a one-channel
image of 16 rows x ``width`` samples, the 12 leads in rows 2-13 and zero rows above and below. The
generator input is ``ekgan.lead_i_to_image(lead_i)``; ``nets[0]`` of every model maps it to the
12-lead image (linear output, mV) and is the network that is exported and scored. Only ``keras``
layers and ``keras.ops`` are used, so the same code trains under TensorFlow and JAX, and each
``*_body`` follows the :mod:`training.steps` body interface (``Stepper(nets, opts, body)``).

Adaptations shared by all three: 2-D convolutions over (lead rows, time) with kernels elongated in
time where the height is already 1; linear outputs instead of tanh (the signals are in mV, not
[-1, 1]); "same" zero padding (the layout's zero rows are already zero padding); widths that are
multiples of 256. Each generator has at most 8 M parameters (its float16 weights fit 16 MiB).
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
from keras import layers, ops

from training.ekgan import PAD, ROWS, generator_conv, weight_init
from training.steps import Body, bce, value_and_grad

# --------------------------------------------------------------------------------------------
# Shared pieces
# --------------------------------------------------------------------------------------------


def _check_width(width: int) -> None:
    if width % 256:
        raise ValueError(f"the baselines need a width divisible by 256, not {width}")


def _norm(kind: str, name: str) -> layers.Layer:
    """``batch`` (pix2pix), ``instance`` (CycleGAN) or ``layer`` (CardioGAN) normalisation."""
    if kind == "batch":
        return layers.BatchNormalization(name=name)
    if kind == "instance":
        # GroupNormalization with one group per channel is instance normalisation.
        return layers.GroupNormalization(groups=-1, epsilon=1e-5, name=name)
    if kind == "layer":
        return layers.LayerNormalization(name=name)
    raise ValueError(kind)


_NORM_SUFFIX = {"batch": "bn", "instance": "in", "layer": "ln"}


def _encoder(
    x: keras.KerasTensor, filters, strides, kernel, norm: str, prefix: str
) -> list[keras.KerasTensor]:
    """A U-Net's strided convolutions (normalised after the first, LeakyReLU); every stage."""
    stages = []
    for i, (f, s) in enumerate(zip(filters, strides, strict=True)):
        x = layers.Conv2D(f, kernel(s), s, **generator_conv(f"{prefix}_enc{i}"))(x)
        if i > 0:
            x = _norm(norm, f"{prefix}_enc{i}_{_NORM_SUFFIX[norm]}")(x)
        x = layers.LeakyReLU(0.2, name=f"{prefix}_enc{i}_act")(x)
        stages.append(x)
    return stages


def _image_out(x: keras.KerasTensor, kernel, stride, name: str) -> keras.KerasTensor:
    """The last transposed convolution back to the one-channel lead image (linear, in mV)."""
    return layers.Conv2DTranspose(
        1, kernel(stride), stride, padding="same", kernel_initializer=weight_init(), name=name
    )(x)


def _patchgan(x: keras.KerasTensor, norm: str, prefix: str) -> keras.KerasTensor:
    """The 70 x 70 PatchGAN of pix2pix / CycleGAN (C64-C128-C256-C512, 4 x 4 kernels) on a
    16-row image: three stride-2 layers take the height to 2, so each logit judges a patch of
    about 2 leads x 70 samples (a QRS complex and its surroundings at 250 Hz)."""
    for i, (filters, stride) in enumerate(zip((64, 128, 256, 512), (2, 2, 2, 1), strict=True)):
        x = layers.Conv2D(
            filters,
            4,
            stride,
            padding="same",
            use_bias=norm != "batch",
            kernel_initializer=weight_init(),
            name=f"{prefix}_c{i}",
        )(x)
        if i > 0:
            x = _norm(norm, f"{prefix}_c{i}_norm")(x)
        x = layers.LeakyReLU(0.2, name=f"{prefix}_c{i}_act")(x)
    return layers.Conv2D(
        1, 4, padding="same", kernel_initializer=weight_init(), name=f"{prefix}_out"
    )(x)


def _l1(a, b):
    return ops.mean(ops.abs(a - b))


def lsgan(out, target: float):
    """Least-squares GAN loss (Mao et al. 2017), CycleGAN's and CardioGAN's adversarial loss."""
    return ops.mean(ops.square(out - target))


def _call(net: keras.Model, st: tuple, inputs):
    """``net`` in training mode with the values in ``st``; returns (output, new non-trainables)."""
    return net.stateless_call(st[0], st[1], inputs, training=True)


def _update_discriminators(
    nets: list[keras.Model],
    apply: Callable,
    state: list,
    jobs: list[tuple[int, object, object, object, str]],
    loss: Callable,
    metrics: dict,
) -> None:
    """One optimiser step per discriminator job ``(index, real, fake, condition, metric)``.

    ``loss(real_out, fake_out)`` is the discriminator's loss; fakes are detached so that only the
    discriminator learns here. A conditional D (``condition`` not None) receives
    ``[condition, image]``; the others the image alone.
    """
    for i, real, fake, cond, key in jobs:
        net = nets[i]
        fake = ops.stop_gradient(fake)

        def d_loss(tv, ntv, real, fake, cond, net=net):
            real_in = real if cond is None else [cond, real]
            fake_in = fake if cond is None else [cond, fake]
            real_out, ntv = net.stateless_call(tv, ntv, real_in, training=True)
            fake_out, ntv = net.stateless_call(tv, ntv, fake_in, training=True)
            return loss(real_out, fake_out), ntv

        tv, ntv, opt = state[i]
        (metrics[key], ntv), g = value_and_grad(d_loss)(tv, ntv, real, fake, cond)
        tv, opt = apply(i, opt, g, tv)
        state[i] = (tv, ntv, opt)


# --------------------------------------------------------------------------------------------
# Pix2pix (Isola et al., CVPR 2017)
# --------------------------------------------------------------------------------------------

#: Encoder filters: pix2pix's C64-C128-C256-C512 x 5, capped at 256 to fit the 8 M budget.
P2P_FILTERS = (64, 128, 256, 256, 256, 256, 256, 256)
#: Four stride-2 stages take the 16 rows to 1; the rest halve time only, 8 halvings in all
#: (W -> W / 256, pix2pix's 256 -> 1 bottleneck).
P2P_STRIDES = ((2, 2),) * 4 + ((1, 2),) * 4
P2P_DROPOUT = 3  # dropout 0.5 in the first three decoder blocks, as in pix2pix


def _p2p_kernel(stride: tuple[int, int]) -> tuple[int, int]:
    """EKGAN's (2, 4) kernel where the height halves, (1, 4) once it is a single row."""
    return (stride[0], 4)


def pix2pix_generator(width: int = 512) -> keras.Model:
    """Pix2pix's U-Net (encoder-decoder with concatenated skips) on the 16 x W lead image."""
    _check_width(width)
    inp = keras.Input((ROWS, width, 1), name="lead_i_image")
    stages = _encoder(inp, P2P_FILTERS, P2P_STRIDES, _p2p_kernel, "batch", "p2p")
    x = stages[-1]
    n = len(P2P_FILTERS)
    for j in range(n - 1):
        level = n - 1 - j  # upsampling undoes encoder stage ``level``'s stride
        s = P2P_STRIDES[level]
        x = layers.Conv2DTranspose(
            P2P_FILTERS[level - 1], _p2p_kernel(s), s, **generator_conv(f"p2p_dec{j}")
        )(x)
        x = layers.BatchNormalization(name=f"p2p_dec{j}_bn")(x)
        if j < P2P_DROPOUT:
            x = layers.Dropout(0.5, name=f"p2p_dec{j}_drop")(x)
        x = layers.ReLU(name=f"p2p_dec{j}_act")(x)
        x = layers.Concatenate(name=f"p2p_skip{j}")([x, stages[level - 1]])
    out = _image_out(x, _p2p_kernel, P2P_STRIDES[0], "p2p_out")
    return keras.Model(inp, out, name="pix2pix_generator")


def pix2pix_discriminator(width: int = 512) -> keras.Model:
    """Conditional PatchGAN: (Lead I image, 12-lead image) -> (2, W / 8) map of logits."""
    _check_width(width)
    cond = keras.Input((ROWS, width, 1), name="lead_i_image")
    target = keras.Input((ROWS, width, 1), name="twelve_lead_image")
    x = layers.Concatenate(name="p2p_d_in")([cond, target])
    return keras.Model([cond, target], _patchgan(x, "batch", "p2p_d"), name="pix2pix_d")


def pix2pix_nets(width: int = 512) -> list[keras.Model]:
    """[G, D]: G is the Lead I -> 12-lead U-Net, D the conditional PatchGAN."""
    return [pix2pix_generator(width), pix2pix_discriminator(width)]


def pix2pix_body(lam: float = 100.0) -> Body:
    """Pix2pix's update: G on BCE adversarial + ``lam`` * L1 (the paper's lambda = 100), then D
    on BCE real -> 1, fake -> 0, halved as in the paper ("divide the objective by 2 while
    optimizing D") so D learns more slowly than G."""

    def body(nets: list[keras.Model], apply: Callable, state: tuple, x, y, band):
        del band  # the paper's baselines compare every target as it is
        g, d = nets
        state = list(state)

        def g_loss(tv, ntv, d_st, x, y):
            fake, ntv = g.stateless_call(tv, ntv, x, training=True)
            logits, _ = _call(d, d_st, [x, fake])
            l1, adv = _l1(fake, y), bce(logits, 1.0)
            return adv + lam * l1, (ntv, fake, l1, adv)

        g_tv, g_ntv, g_opt = state[0]
        (total, (g_ntv, fake, l1, adv)), grads = value_and_grad(g_loss)(g_tv, g_ntv, state[1], x, y)
        g_tv, g_opt = apply(0, g_opt, grads, g_tv)
        state[0] = (g_tv, g_ntv, g_opt)
        metrics = {"ig_l1": l1, "g_adv": adv, "g_total": total}

        def d_loss(real_logits, fake_logits):
            return 0.5 * (bce(real_logits, 1.0) + bce(fake_logits, 0.0))

        _update_discriminators(nets, apply, state, [(1, y, fake, x, "d_loss")], d_loss, metrics)
        return tuple(state), metrics

    return body


# --------------------------------------------------------------------------------------------
# CycleGAN (Zhu et al., ICCV 2017)
# --------------------------------------------------------------------------------------------

CYCLE_BLOCKS = 6  # CycleGAN uses 6 residual blocks below 256 x 256 (16 x 512 is 8 k pixels)


def resnet_generator(
    width: int = 512, name: str = "cyclegan_g", blocks: int = CYCLE_BLOCKS
) -> keras.Model:
    """CycleGAN's ResNet generator c7s1-64, d128, d256, R256 x 6, u128, u64, c7s1-1 with
    instance normalisation; the trunk runs at 4 x W / 4, the output is linear."""
    _check_width(width)

    def conv(x, filters, kernel, stride, tag, transpose=False):
        cls = layers.Conv2DTranspose if transpose else layers.Conv2D
        x = cls(filters, kernel, stride, **generator_conv(f"{name}_{tag}"))(x)
        return _norm("instance", f"{name}_{tag}_in")(x)

    inp = keras.Input((ROWS, width, 1), name="image")
    x = layers.ReLU(name=f"{name}_c7_act")(conv(inp, 64, 7, 1, "c7"))
    x = layers.ReLU(name=f"{name}_d128_act")(conv(x, 128, 3, 2, "d128"))
    x = layers.ReLU(name=f"{name}_d256_act")(conv(x, 256, 3, 2, "d256"))
    for b in range(blocks):
        h = layers.ReLU(name=f"{name}_r{b}_act")(conv(x, 256, 3, 1, f"r{b}a"))
        h = conv(h, 256, 3, 1, f"r{b}b")
        x = layers.Add(name=f"{name}_r{b}_add")([x, h])
    x = layers.ReLU(name=f"{name}_u128_act")(conv(x, 128, 3, 2, "u128", transpose=True))
    x = layers.ReLU(name=f"{name}_u64_act")(conv(x, 64, 3, 2, "u64", transpose=True))
    out = layers.Conv2D(1, 7, padding="same", kernel_initializer=weight_init(), name=f"{name}_out")(
        x
    )
    return keras.Model(inp, out, name=name)


def patch_discriminator(width: int = 512, name: str = "cyclegan_d") -> keras.Model:
    """Unconditional PatchGAN with instance normalisation (CycleGAN): image -> (2, W / 8)."""
    _check_width(width)
    inp = keras.Input((ROWS, width, 1), name="image")
    return keras.Model(inp, _patchgan(inp, "instance", name), name=name)


def cyclegan_nets(width: int = 512, blocks: int = CYCLE_BLOCKS) -> list[keras.Model]:
    """[G, F, D_y, D_x]: G Lead I image -> 12-lead image, F back, D_y judges 12-lead images and
    D_x Lead I images (all in the 16-row layout).

    CycleGAN is the costliest baseline (six generator passes per update, its trunk at 4 x W / 4:
    ~20 x pix2pix's update); fewer residual ``blocks`` (1.18 M parameters each) cut both.
    """
    return [
        resnet_generator(width, "cyclegan_g", blocks),
        resnet_generator(width, "cyclegan_f", blocks),
        patch_discriminator(width, "cyclegan_dy"),
        patch_discriminator(width, "cyclegan_dx"),
    ]


def _joint_generator_step(nets, apply, state, x, y, loss_fn):
    """Step G (net 0) and F (net 1) together on ``loss_fn(gf_params, gf_ntv, x, y)``, whose aux
    is ``(ntvs, fake_y, fake_x, terms)``; returns the fakes and the terms."""
    (g_tv, g_ntv, g_opt), (f_tv, f_ntv, f_opt) = state[0], state[1]
    (total, ((g_ntv, f_ntv), fake_y, fake_x, terms)), (g_grads, f_grads) = value_and_grad(loss_fn)(
        (g_tv, f_tv), (g_ntv, f_ntv), x, y
    )
    g_tv, g_opt = apply(0, g_opt, g_grads, g_tv)
    f_tv, f_opt = apply(1, f_opt, f_grads, f_tv)
    state[0], state[1] = (g_tv, g_ntv, g_opt), (f_tv, f_ntv, f_opt)
    return total, fake_y, fake_x, terms


def cyclegan_body(cycle: float = 10.0, identity: float = 5.0) -> Body:
    """CycleGAN's update with its published weights (lambda = 10, identity 0.5 * lambda).

    G and F minimise LSGAN adversarial terms + ``cycle`` * (|F(G(x)) - x| + |G(F(y)) - y|) +
    ``identity`` * (|G(y) - y| + |F(x) - x|); then D_y and D_x minimise half the LSGAN loss.
    The batches happen to be paired, but faithful CycleGAN never uses the pairing: there is no
    |G(x) - y| term (``ig_l1`` is only logged). Not ported: the pool of 50 past fakes that
    CycleGAN shows its discriminators (state outside a pure, jitted update).
    """

    def body(nets: list[keras.Model], apply: Callable, state: tuple, x, y, band):
        del band  # the paper's baselines compare every target as it is
        g, f, dy, dx = nets
        state = list(state)
        dy_st, dx_st = state[2], state[3]

        def gen_loss(params, ntvs, x, y):
            (g_tv, f_tv), (g_ntv, f_ntv) = params, ntvs
            fake_y, g_ntv = g.stateless_call(g_tv, g_ntv, x, training=True)
            cyc_x, f_ntv = f.stateless_call(f_tv, f_ntv, fake_y, training=True)
            fake_x, f_ntv = f.stateless_call(f_tv, f_ntv, y, training=True)
            cyc_y, g_ntv = g.stateless_call(g_tv, g_ntv, fake_x, training=True)
            same_y, g_ntv = g.stateless_call(g_tv, g_ntv, y, training=True)
            same_x, f_ntv = f.stateless_call(f_tv, f_ntv, x, training=True)
            g_adv = lsgan(_call(dy, dy_st, fake_y)[0], 1.0)
            f_adv = lsgan(_call(dx, dx_st, fake_x)[0], 1.0)
            cyc = _l1(cyc_x, x) + _l1(cyc_y, y)
            idt = _l1(same_y, y) + _l1(same_x, x)
            total = g_adv + f_adv + cycle * cyc + identity * idt
            terms = {
                "ig_l1": _l1(fake_y, y),
                "g_adv": g_adv,
                "f_adv": f_adv,
                "cycle": cyc,
                "identity": idt,
            }
            return total, ((g_ntv, f_ntv), fake_y, fake_x, terms)

        total, fake_y, fake_x, metrics = _joint_generator_step(nets, apply, state, x, y, gen_loss)
        metrics["gen_total"] = total

        def d_loss(real_out, fake_out):
            return 0.5 * (lsgan(real_out, 1.0) + lsgan(fake_out, 0.0))

        jobs = [(2, y, fake_y, None, "dy_loss"), (3, x, fake_x, None, "dx_loss")]
        _update_discriminators(nets, apply, state, jobs, d_loss, metrics)
        return tuple(state), metrics

    return body


# --------------------------------------------------------------------------------------------
# CardioGAN (Sarkar & Etemad, AAAI 2021)
# --------------------------------------------------------------------------------------------

#: Encoder filters (CardioGAN: 64, 128, 256, 512, 512, 512), capped at 256 for the 8 M budget.
CARDIO_FILTERS = (64, 128, 256, 256, 256, 256)
#: Six stride-2 stages as in CardioGAN; the height reaches 1 after four.
CARDIO_STRIDES = ((2, 2),) * 4 + ((1, 2),) * 2
CARDIO_KERNEL = 8  # CardioGAN's 1-D kernel is 16; 8 halves the weights of every layer

#: STFT of the frequency discriminators: a 64-sample Hann window (0.256 s at 250 Hz, 33 bins
#: of 3.9 Hz) every 8 samples, zero-padded so that there are W / 8 frames.
STFT_FRAME = 64
STFT_HOP = 8
STFT_EPS = 1e-6  # added to the power before the log: a floor near 1 uV


def _stft_kernel() -> np.ndarray:
    """(1, frame, 1, 2 * bins) convolution kernel: Hann-windowed cosines then negative sines,
    scaled by 1 / sum(window) like ``scipy.signal.stft``."""
    n = np.arange(STFT_FRAME)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * n / STFT_FRAME)  # periodic Hann
    k = np.arange(STFT_FRAME // 2 + 1)
    phase = 2 * np.pi * np.outer(n, k) / STFT_FRAME
    basis = np.concatenate([np.cos(phase), -np.sin(phase)], axis=1) * window[:, None]
    basis /= window.sum()
    return basis[None, :, None, :].astype(np.float32)


def log_spectrogram(image):
    """(batch, 16, W, 1) lead image -> (batch, bins, W / 8, 12) log-magnitude STFT of each lead.

    The STFT is a strided convolution with fixed DFT kernels, so it differentiates under every
    backend and exports anywhere; 0.5 * log(power + eps) avoids the gradient of a square root
    at zero. Leads become channels, time x frequency the image, as in CardioGAN.
    """
    leads = image[:, PAD : ROWS - PAD, :, :]  # (batch, 12, W, 1)
    side = (STFT_FRAME - STFT_HOP) // 2
    leads = ops.pad(leads, ((0, 0), (0, 0), (side, side), (0, 0)))
    kernel = ops.convert_to_tensor(_stft_kernel(), dtype=leads.dtype)
    spec = ops.conv(leads, kernel, strides=(1, STFT_HOP), padding="valid")
    bins = STFT_FRAME // 2 + 1
    power = ops.square(spec[..., :bins]) + ops.square(spec[..., bins:])
    logmag = 0.5 * ops.log(power + STFT_EPS)  # (batch, 12, frames, bins)
    return ops.transpose(logmag, (0, 3, 2, 1))


class LogSpectrogram(layers.Layer):
    """:func:`log_spectrogram` as a weightless layer, the frequency discriminators' front end."""

    def call(self, image):
        return log_spectrogram(image)

    def compute_output_shape(self, input_shape):
        frames = None if input_shape[2] is None else input_shape[2] // STFT_HOP
        return (input_shape[0], STFT_FRAME // 2 + 1, frames, ROWS - 2 * PAD)


def _attention_gate(skip, gate, name: str):
    """Additive attention gate (Oktay et al. 2018, as in CardioGAN): skip * sigmoid(psi(relu(
    theta(skip) + phi(gate)))), with 1 x 1 convolutions and as many inner channels as ``gate``."""
    inter = gate.shape[-1]
    theta = layers.Conv2D(inter, 1, kernel_initializer=weight_init(), name=f"{name}_theta")(skip)
    phi = layers.Conv2D(inter, 1, kernel_initializer=weight_init(), name=f"{name}_phi")(gate)
    f = layers.ReLU(name=f"{name}_relu")(layers.Add(name=f"{name}_sum")([theta, phi]))
    rate = layers.Conv2D(
        1, 1, activation="sigmoid", kernel_initializer=weight_init(), name=f"{name}_psi"
    )(f)
    return layers.Multiply(name=f"{name}_apply")([skip, rate])


def attention_unet(width: int = 512, name: str = "cardiogan_g") -> keras.Model:
    """CardioGAN's attention U-Net on the lead image: six strided convolutions (layer norm,
    LeakyReLU), a stride-1 bottleneck decoder block, five upsampling blocks (layer norm, ReLU)
    each adding its attention-gated encoder twin (CardioGAN adds, it does not concatenate)."""
    _check_width(width)

    def kernel(stride):
        return (stride[0], CARDIO_KERNEL)

    inp = keras.Input((ROWS, width, 1), name="image")
    stages = _encoder(inp, CARDIO_FILTERS, CARDIO_STRIDES, kernel, "layer", name)
    x = stages[-1]
    n = len(CARDIO_FILTERS)
    for j in range(n):
        level = n - j  # block j brings the resolution of stage ``level - 1`` (j = 0: stride 1)
        s = (1, 1) if j == 0 else CARDIO_STRIDES[level]
        x = layers.Conv2DTranspose(
            CARDIO_FILTERS[level - 1], kernel(s), s, **generator_conv(f"{name}_dec{j}")
        )(x)
        x = layers.LayerNormalization(name=f"{name}_dec{j}_ln")(x)
        x = layers.ReLU(name=f"{name}_dec{j}_act")(x)
        att = _attention_gate(stages[level - 1], x, f"{name}_att{j}")
        x = layers.Add(name=f"{name}_skip{j}")([x, att])
    out = _image_out(x, kernel, CARDIO_STRIDES[0], f"{name}_out")
    return keras.Model(inp, out, name=name)


def time_discriminator(width: int = 512, name: str = "cardiogan_dt") -> keras.Model:
    """CardioGAN's time-domain discriminator (kernels 16 long in time, layer norm) on the lead
    image: image -> (2, W / 8) map."""
    _check_width(width)
    inp = keras.Input((ROWS, width, 1), name="image")
    x = inp
    for i, (f, s) in enumerate(zip((64, 128, 256, 256), (2, 2, 2, 1), strict=True)):
        k = (2, 16) if s == 2 else (1, 16)
        x = layers.Conv2D(
            f,
            k,
            s,
            padding="same",
            use_bias=False,
            kernel_initializer=weight_init(),
            name=f"{name}_c{i}",
        )(x)
        if i > 0:
            x = layers.LayerNormalization(name=f"{name}_c{i}_ln")(x)
        x = layers.LeakyReLU(0.2, name=f"{name}_c{i}_act")(x)
    out = layers.Conv2D(
        1, (1, 16), padding="same", kernel_initializer=weight_init(), name=f"{name}_out"
    )
    return keras.Model(inp, out(x), name=name)


def frequency_discriminator(width: int = 512, name: str = "cardiogan_df") -> keras.Model:
    """CardioGAN's frequency-domain discriminator: 7 x 7 convolutions (layer norm) on the
    log-magnitude STFT of the leads (bins x frames, leads as channels) -> (5, W / 64) map."""
    _check_width(width)
    inp = keras.Input((ROWS, width, 1), name="image")
    x = LogSpectrogram(name=f"{name}_stft")(inp)
    for i, f in enumerate((64, 128, 256)):
        x = layers.Conv2D(
            f,
            7,
            2,
            padding="same",
            use_bias=False,
            kernel_initializer=weight_init(),
            name=f"{name}_c{i}",
        )(x)
        if i > 0:
            x = layers.LayerNormalization(name=f"{name}_c{i}_ln")(x)
        x = layers.LeakyReLU(0.2, name=f"{name}_c{i}_act")(x)
    out = layers.Conv2D(1, 7, padding="same", kernel_initializer=weight_init(), name=f"{name}_out")
    return keras.Model(inp, out(x), name=name)


def cardiogan_nets(width: int = 512) -> list[keras.Model]:
    """[G, F, Dt_y, Df_y, Dt_x, Df_x]: attention U-Nets G (Lead I -> 12-lead) and F (back), and
    per domain (y: 12-lead, x: Lead I) a time- and a frequency-domain discriminator."""
    return [
        attention_unet(width, "cardiogan_g"),
        attention_unet(width, "cardiogan_f"),
        time_discriminator(width, "cardiogan_dt_y"),
        frequency_discriminator(width, "cardiogan_df_y"),
        time_discriminator(width, "cardiogan_dt_x"),
        frequency_discriminator(width, "cardiogan_df_x"),
    ]


def cardiogan_body(cycle: float = 30.0) -> Body:
    """CardioGAN's update: G and F minimise the LSGAN adversarial terms of both their
    discriminators + ``cycle`` * (|F(G(x)) - x| + |G(F(y)) - y|) (the paper's alpha = 30; no
    identity term), then the four discriminators minimise the LSGAN loss. As in CycleGAN the
    pairing of the batches is not used (``ig_l1`` is only logged)."""

    def body(nets: list[keras.Model], apply: Callable, state: tuple, x, y, band):
        del band  # the paper's baselines compare every target as it is
        g, f, dt_y, df_y, dt_x, df_x = nets
        state = list(state)
        d_st = state[2:]

        def gen_loss(params, ntvs, x, y):
            (g_tv, f_tv), (g_ntv, f_ntv) = params, ntvs
            fake_y, g_ntv = g.stateless_call(g_tv, g_ntv, x, training=True)
            cyc_x, f_ntv = f.stateless_call(f_tv, f_ntv, fake_y, training=True)
            fake_x, f_ntv = f.stateless_call(f_tv, f_ntv, y, training=True)
            cyc_y, g_ntv = g.stateless_call(g_tv, g_ntv, fake_x, training=True)
            terms = {
                "ig_l1": _l1(fake_y, y),
                "g_adv_time": lsgan(_call(dt_y, d_st[0], fake_y)[0], 1.0),
                "g_adv_freq": lsgan(_call(df_y, d_st[1], fake_y)[0], 1.0),
                "f_adv_time": lsgan(_call(dt_x, d_st[2], fake_x)[0], 1.0),
                "f_adv_freq": lsgan(_call(df_x, d_st[3], fake_x)[0], 1.0),
                "cycle": _l1(cyc_x, x) + _l1(cyc_y, y),
            }
            adv = sum(v for k, v in terms.items() if "_adv_" in k)
            return adv + cycle * terms["cycle"], ((g_ntv, f_ntv), fake_y, fake_x, terms)

        total, fake_y, fake_x, metrics = _joint_generator_step(nets, apply, state, x, y, gen_loss)
        metrics["gen_total"] = total

        def d_loss(real_out, fake_out):
            return lsgan(real_out, 1.0) + lsgan(fake_out, 0.0)

        jobs = [
            (2, y, fake_y, None, "dt_y_loss"),
            (3, y, fake_y, None, "df_y_loss"),
            (4, x, fake_x, None, "dt_x_loss"),
            (5, x, fake_x, None, "df_x_loss"),
        ]
        _update_discriminators(nets, apply, state, jobs, d_loss, metrics)
        return tuple(state), metrics

    return body
