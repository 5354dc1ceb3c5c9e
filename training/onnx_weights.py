"""A shipped ONNX model's inference generator back into Keras weights, to warm-start training.

    python -m training.onnx_weights --onnx ecg12/models/ekgan-1.1.0.onnx --context 2 \\
        --out ~/.cache/ecg12-train/ekgan-1.1.0-ig.npz

Training checkpoints live outside the repository, so a new machine has only what is committed:
the exported ONNX files. Their weights are IG's, except that the exporter folded each encoder
batch norm into its convolution (kernel x scale, plus a bias) and each decoder batch norm into
one multiply-add. Here those folds become batch norms with zero mean and unit variance and the
folded scale and offset as gamma and beta, so the Keras network computes what the ONNX file
computes in inference mode. Batch statistics of the original run are gone, so a run that starts
from these weights must keep its batch norms frozen (``training.train --freeze-bn``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

#: Keras' BatchNormalization epsilon: a moving variance of ``1 - EPS`` makes its scale exactly 1.
BN_EPSILON = 1e-3
#: IG's scope inside an export: "<contract>_1/inference_generator_1/", the contract being the
#: Lead I one (``ekgan_contract``) or the any-lead one (``ekgan_any_contract``).
_SCOPE = "inference_generator_1/"


def _graph_tables(
    path: Path,
) -> tuple[dict[str, np.ndarray], dict[str, list[str]], dict[str, list[str]]]:
    """Initializers as float32 arrays, and each node's inputs and outputs by node name."""
    import onnx
    from onnx import numpy_helper

    proto = onnx.load(str(path))
    values = {i.name: numpy_helper.to_array(i).astype(np.float32) for i in proto.graph.initializer}
    inputs = {n.name: list(n.input) for n in proto.graph.node}
    outputs = {n.name: list(n.output) for n in proto.graph.node}
    return values, inputs, outputs


def ig_weights(path: Path, context: int) -> dict[str, np.ndarray]:
    """IG's weights by Keras path (``ig_enc1/kernel``, ...) from an ekgan ONNX export."""
    values, inputs, outputs = _graph_tables(path)
    scoped = next((n for n in inputs if _SCOPE in n), None)
    if scoped is None:
        raise ValueError(f"{path}: no {_SCOPE!r} nodes; not an ekgan IG export?")
    prefix = scoped[: scoped.index(_SCOPE) + len(_SCOPE)]

    def init(name: str) -> np.ndarray:
        key = prefix + name
        if key not in values:
            raise ValueError(f"{path}: no initializer {name!r}; not an ekgan IG export?")
        return values[key]

    made_by = {out: inputs[name] for name, outs in outputs.items() for out in outs}

    def producer(node: str) -> list[str]:
        """The inputs of the node whose output a named node takes first."""
        key = prefix + node
        if key not in inputs:
            raise ValueError(f"{path}: no node {node!r}; not an ekgan IG export?")
        return made_by[inputs[key][0]]

    def operand(node: str, index: int) -> np.ndarray:
        """An initializer that a named node takes (tf2onnx renames folded constants)."""
        key = prefix + node
        if key not in inputs:
            raise ValueError(f"{path}: no node {node!r}; not an ekgan IG export?")
        return values[inputs[key][index]]

    out: dict[str, np.ndarray] = {}

    def frozen_bn(layer: str, scale: np.ndarray, offset: np.ndarray) -> None:
        n = scale.size
        out[f"{layer}/gamma"] = scale.reshape(n)
        out[f"{layer}/beta"] = offset.reshape(n)
        out[f"{layer}/moving_mean"] = np.zeros(n, np.float32)
        out[f"{layer}/moving_variance"] = np.full(n, 1.0 - BN_EPSILON, np.float32)

    # Each encoder stage is one Conv feeding its activation (the batch norm folded in, when the
    # exporter could: a frozen unit-scale norm leaves the kernel's own name). ONNX Conv kernels
    # are (out, in, h, w); Keras Conv2D's (h, w, in, out).
    for i in range(5):
        conv = producer(f"ig_enc{i}_act_1/LeakyRelu")
        out[f"ig_enc{i}/kernel"] = values[conv[1]].transpose(2, 3, 1, 0)
        if i > 0:
            bias = values[conv[2]]
            frozen_bn(f"ig_enc{i}_bn", np.ones_like(bias), bias)
    for i in range(context):
        c = f"ig_ctx{i}"
        for ln in ("ln1", "ln2"):
            out[f"{c}_{ln}/gamma"] = init(f"{c}_{ln}_1/Reshape:0").reshape(-1)
            out[f"{c}_{ln}/beta"] = init(f"{c}_{ln}_1/Reshape_1:0").reshape(-1)
        for part in ("query", "key", "value"):
            kernel = init(f"{c}_att_1/{part}_1/Reshape:0")
            bias = init(f"{c}_att_1/{part}_1/Add/ReadVariableOp:0")
            out[f"{c}_att/{part}/kernel"] = kernel.reshape(kernel.shape[0], *bias.shape)
            out[f"{c}_att/{part}/bias"] = bias
        kernel = init(f"{c}_att_1/attention_output_1/Reshape_1:0")
        heads, key_dim = out[f"{c}_att/query/bias"].shape
        out[f"{c}_att/attention_output/kernel"] = kernel.reshape(heads, key_dim, -1)
        out[f"{c}_att/attention_output/bias"] = init(
            f"{c}_att_1/attention_output_1/BiasAdd/ReadVariableOp:0"
        )
        for ff in ("ff1", "ff2"):
            out[f"{c}_{ff}/kernel"] = init(f"{c}_{ff}_1/Cast/ReadVariableOp:0")
            out[f"{c}_{ff}/bias"] = init(f"{c}_{ff}_1/BiasAdd/ReadVariableOp:0")
    # ONNX ConvTranspose kernels are (in, out, h, w); Keras Conv2DTranspose's (h, w, out, in).
    for i in range(4):
        out[f"ig_dec{i}/kernel"] = init(f"ig_dec{i}_1/conv_transpose/ReadVariableOp:0").transpose(
            2, 3, 1, 0
        )
        frozen_bn(
            f"ig_dec{i}_bn",
            operand(f"ig_dec{i}_bn_1/batchnorm/mul_1", 1),
            operand(f"ig_dec{i}_bn_1/batchnorm/add_1", 1),
        )
    out["ig_out/kernel"] = init("ig_out_1/conv_transpose/ReadVariableOp:0").transpose(2, 3, 1, 0)
    out["ig_out/bias"] = operand("ig_out_1/Add", 1).reshape(1)
    return out


def load_into(generator, weights: dict[str, np.ndarray]) -> None:
    """Assign ``weights`` (by Keras path) to ``generator``; every weight must be covered."""
    missing = [w.path for w in generator.weights if w.path not in weights]
    if missing or len(weights) != len(generator.weights):
        raise ValueError(
            f"the ONNX weights do not fit this generator (missing {missing[:3]}, "
            f"{len(weights)} arrays for {len(generator.weights)} weights); check --context"
        )
    for w in generator.weights:
        if tuple(w.shape) != weights[w.path].shape:
            raise ValueError(f"{w.path}: shape {weights[w.path].shape}, expected {w.shape}")
        w.assign(weights[w.path])


def main(argv: list[str] | None = None) -> None:
    from training import ekgan
    from training.train import save_atomic

    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--onnx", type=Path, required=True, help="an ekgan ONNX export")
    p.add_argument("--context", type=int, default=0, help="IG's context blocks (1.1.0: 2)")
    p.add_argument("--window", type=int, default=512)
    p.add_argument("--out", type=Path, required=True, help="weights for training.train --init")
    args = p.parse_args(argv)
    weights = ig_weights(args.onnx, args.context)
    channels = weights["ig_enc0/kernel"].shape[2]  # 2: an any-lead export
    generator = ekgan.inference_generator(args.window, args.context, channels)
    load_into(generator, weights)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_atomic(
        args.out, **{f"w{i}": np.asarray(w.numpy()) for i, w in enumerate(generator.weights)}
    )
    print(f"{args.onnx} -> {args.out} ({len(generator.weights)} arrays); train with --freeze-bn")


if __name__ == "__main__":
    main()
