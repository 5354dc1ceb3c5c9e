"""Training updates written once in Keras' stateless API; only autodiff and compilation are
backend-specific (TensorFlow on CPUs, JAX on lent GPUs).

A model's update is a *body*: ``body(nets, apply, state, x, y, band) -> (state, metrics)``, where
``state[i]`` is ``(trainable values, non-trainable values, optimiser values)`` of ``nets[i]`` and
``apply(i, opt_state, grads, trainable) -> (trainable, opt_state)`` steps optimiser ``i``.
``band`` is (batch,) 0/1: 1 where the target was recorded at 100 Hz and so holds nothing above
50 Hz. Bodies compute gradients with :func:`value_and_grad`. :class:`Stepper` runs any body.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
from keras import ops


@dataclass
class Losses:
    """Which terms IG is trained on:
    ``lam * L1 + alpha * latent L1 + amp * amplitude L1 (+ adversarial if gan)``.

    The amplitude term compares each lead's standard deviation within the window: L1 alone
    pulls uncertain leads towards the population's average shape and so shrinks amplitudes.
    """

    lam: float = 100.0
    alpha: float = 1.0
    gan: bool = True
    amp: float = 0.0
    #: FIR low-pass (at the window's rate) that a 100 Hz target's loss sees the output through,
    #: so those targets teach nothing about the band above 50 Hz; () = compare as is.
    low_pass: tuple[float, ...] = ()


def low_pass_taps(fs: float, cutoff_hz: float = 50.0, taps: int = 41) -> tuple[float, ...]:
    """A linear-phase Kaiser low-pass at the band edge of a 100 Hz recording."""
    from scipy import signal

    return tuple(float(t) for t in signal.firwin(taps, cutoff_hz, fs=fs, window=("kaiser", 5.0)))


def seen_as_recorded(image: Any, band: Any, taps: tuple[float, ...]) -> Any:
    """``image`` (batch, rows, time, 1) as each target's recording would hold it: low-passed
    where ``band`` is 1, unchanged where 0 (and everywhere when there are no ``taps``)."""
    if not taps:
        return image
    kernel = ops.reshape(ops.convert_to_tensor(taps, dtype=image.dtype), (1, len(taps), 1, 1))
    low = ops.conv(image, kernel, strides=1, padding="same")
    weight = ops.reshape(ops.cast(band, image.dtype), (-1, 1, 1, 1))
    return image + weight * (low - image)


def rows_to_learn(x: Any) -> Any:
    """(batch, rows, 1, 1) weight of each image row in IG's loss, or None for all rows alike.

    An any-lead input flags its given rows in a second channel; the runtime passes those leads
    through, so they need not be learnt.
    """
    return None if x.shape[-1] == 1 else 1.0 - x[:, :, :1, 1:2]


def weighted_mean(values: Any, weight: Any | None) -> Any:
    """Mean of ``values`` with ``weight`` broadcast over it (a plain mean without one)."""
    if weight is None:
        return ops.mean(values)
    weight = ops.broadcast_to(weight, ops.shape(values))
    return ops.sum(values * weight) / ops.maximum(ops.sum(weight), 1.0)


def bce(logits: Any, target: float) -> Any:
    labels = ops.ones_like(logits) * target
    return ops.mean(ops.binary_crossentropy(labels, logits, from_logits=True))


def value_and_grad(fn: Callable) -> Callable:
    """``fn(params, *args) -> (loss, aux)`` => ``f(params, *args) -> ((loss, aux), grads)``."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return jax.value_and_grad(fn, has_aux=True)
    if backend == "tensorflow":
        import tensorflow as tf

        def wrapped(params, *args):
            with tf.GradientTape() as tape:
                tape.watch(params)
                loss, aux = fn(params, *args)
            return (loss, aux), tape.gradient(loss, params)

        return wrapped
    raise RuntimeError(f"training supports the tensorflow and jax backends, not {backend}")


def _compile(fn: Callable, replicated: Any = None) -> Callable:
    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        # Data-parallel: the new state and the metrics stay replicated on every device.
        return jax.jit(fn) if replicated is None else jax.jit(fn, out_shardings=replicated)
    import tensorflow as tf

    return tf.function(fn, reduce_retracing=True)


Body = Callable[..., tuple[tuple, dict]]


class Stepper:
    """Runs a model's updates (its body) on image batches x (Lead I) and y (12-lead).

    Under JAX the variable values are threaded through a jitted pure function and written back
    to the Keras variables by :meth:`sync`; under TensorFlow (whose optimisers are stateful) the
    same loss code runs inside ``tf.function`` and updates the variables in place.

    With several JAX devices (a multi-GPU machine) each update is data-parallel: the state is
    replicated on every device and each batch split along axis 0 over a 1-D "batch" mesh, and
    ``jax.jit`` partitions the step itself (GSPMD). The body stays written for one global batch:
    means, gradients and batch-norm statistics are reduced across devices, so an update equals
    the one-device update up to float summation order. With one device nothing is sharded.
    """

    def __init__(
        self, nets: list[keras.Model], opts: list[keras.optimizers.Optimizer], body: Body
    ) -> None:
        self.nets, self.opts, self.body = nets, opts, body
        self.jax = keras.backend.backend() == "jax"
        #: (replicated, batch-split) shardings when JAX sees several devices, else None.
        self.sharding = _data_parallel() if self.jax else None
        self.state = self._place(_read(nets, opts))
        replicated = self.sharding and self.sharding[0]
        self._step = _compile(self._jax_step if self.jax else self._tf_step, replicated)

    def step(self, x, y, band=None) -> dict:
        """One update; ``band`` defaults to every target recorded at full band."""
        if band is None:
            band = np.zeros(x.shape[0], np.float32)
        if self.jax:
            if self.sharding:
                import jax

                n = len(self.sharding[1].device_set)
                if x.shape[0] % n:
                    raise ValueError(
                        f"batch size {x.shape[0]} is not divisible by the {n} devices that "
                        f"share each batch; use a multiple of {n}"
                    )
                x, y, band = jax.device_put((x, y, band), self.sharding[1])
            self.state, metrics = self._step(self.state, x, y, band)
        else:
            metrics = self._step(x, y, band)
        return metrics

    def sync(self) -> None:
        """Make the Keras variables current (a no-op under TensorFlow)."""
        if self.jax:
            for (tv, ntv, ov), m, o in zip(self.state, self.nets, self.opts, strict=True):
                for var, val in zip(
                    m.trainable_variables + m.non_trainable_variables + o.variables,
                    list(tv) + list(ntv) + list(ov),
                    strict=True,
                ):
                    var.assign(val)

    def reload(self) -> None:
        """Re-read the Keras variables (after a checkpoint was loaded into them)."""
        self.state = self._place(_read(self.nets, self.opts))

    def _place(self, state: tuple) -> tuple:
        if not self.sharding:
            return state
        import jax

        return jax.device_put(state, self.sharding[0])

    def _jax_step(self, state, x, y, band):
        def apply(i, opt_state, grads, tv):
            return self.opts[i].stateless_apply(opt_state, grads, tv)

        return self.body(self.nets, apply, state, x, y, band)

    def _tf_step(self, x, y, band):
        def apply(i, opt_state, grads, tv):
            variables = self.nets[i].trainable_variables
            self.opts[i].apply(grads, variables)
            return [v.value for v in variables], opt_state

        state, metrics = self.body(self.nets, apply, _read(self.nets, self.opts), x, y, band)
        for (_, ntv, _), net in zip(state, self.nets, strict=True):
            for var, val in zip(net.non_trainable_variables, ntv, strict=True):
                var.assign(val)
        return metrics


def _data_parallel() -> tuple | None:
    """Shardings over a 1-D "batch" mesh of all JAX devices (one process), or None with one."""
    import jax
    import numpy as np
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    devices = jax.devices()
    if len(devices) < 2:
        return None
    mesh = Mesh(np.array(devices), ("batch",))
    return NamedSharding(mesh, PartitionSpec()), NamedSharding(mesh, PartitionSpec("batch"))


def _read(nets: list[keras.Model], opts: list[keras.optimizers.Optimizer]) -> tuple:
    return tuple(
        (
            [v.value for v in m.trainable_variables],
            [v.value for v in m.non_trainable_variables],
            [v.value for v in o.variables],
        )
        for m, o in zip(nets, opts, strict=True)
    )


def ekgan_body(losses: Losses) -> Body:
    """EKGAN's update with these loss weights: ``nets`` are IG, LG and D."""

    def body(nets: list[keras.Model], apply: Callable, state: tuple, x, y, band):
        return _ekgan_update(nets, losses, apply, state, x, y, band)

    return body


def _ekgan_update(
    nets: list[keras.Model], losses: Losses, apply: Callable, state: tuple, x, y, band
):
    """One update of LG, IG and D, in that order (LG's fresh latent is IG's target)."""
    ig, lg, d = nets
    use_lg = losses.alpha > 0

    def lg_loss(tv, ntv, y):
        (rec, latent), ntv = lg.stateless_call(tv, ntv, y, training=True)
        return ops.mean(ops.abs(y - rec)), (ntv, latent)

    def ig_loss(tv, ntv, d_tv, d_ntv, target_latent, x, y):
        (fake, latent), ntv = ig.stateless_call(tv, ntv, x, training=True)
        seen = seen_as_recorded(fake, band, losses.low_pass)
        w = rows_to_learn(x)
        l1 = weighted_mean(ops.abs(y - seen), w)
        lat = ops.mean(ops.abs(latent - target_latent)) if use_lg else ops.zeros(())
        amp = weighted_mean(
            ops.abs(ops.std(seen, axis=2) - ops.std(y, axis=2)), None if w is None else w[:, :, 0]
        )
        adv = ops.zeros(())
        if losses.gan:  # D judges the output as the target's recording would hold it
            logits, _ = d.stateless_call(d_tv, d_ntv, [x, seen], training=True)
            adv = bce(logits, 1.0)
        total = losses.lam * l1 + losses.alpha * lat + losses.amp * amp + adv
        return total, (ntv, seen, l1, lat, amp, adv)

    def d_loss(tv, ntv, x, y, seen):
        real_logits, ntv = d.stateless_call(tv, ntv, [x, y], training=True)
        fake_logits, ntv = d.stateless_call(tv, ntv, [x, seen], training=True)
        return bce(real_logits, 1.0) + bce(fake_logits, 0.0), ntv

    (ig_tv, ig_ntv, ig_opt), (lg_tv, lg_ntv, lg_opt), (d_tv, d_ntv, d_opt) = state
    metrics = {}
    latent = ops.zeros(())
    if use_lg:
        (metrics["lg_l1"], (lg_ntv, latent)), g = value_and_grad(lg_loss)(lg_tv, lg_ntv, y)
        lg_tv, lg_opt = apply(1, lg_opt, g, lg_tv)
        latent = ops.stop_gradient(latent)
    (
        (
            metrics["ig_total"],
            (
                ig_ntv,
                seen,
                metrics["ig_l1"],
                metrics["ig_latent"],
                metrics["ig_amp"],
                metrics["ig_adv"],
            ),
        ),
        g,
    ) = value_and_grad(ig_loss)(ig_tv, ig_ntv, d_tv, d_ntv, latent, x, y)
    ig_tv, ig_opt = apply(0, ig_opt, g, ig_tv)
    if losses.gan:
        (metrics["d_loss"], d_ntv), g = value_and_grad(d_loss)(
            d_tv, d_ntv, x, y, ops.stop_gradient(seen)
        )
        d_tv, d_opt = apply(2, d_opt, g, d_tv)
    state = ((ig_tv, ig_ntv, ig_opt), (lg_tv, lg_ntv, lg_opt), (d_tv, d_ntv, d_opt))
    return state, metrics
