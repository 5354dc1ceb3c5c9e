"""Export a trained inference generator as an ecg12 ONNX model and register its card.

    python -m training.export --weights RUN/best_ig.npz --meta RUN/meta.json --name ekgan \\
        --version 1.0.0 --out ecg12/models/ekgan-v1.onnx [--fp16] [--bundled]

The graph follows the ecg12 contract: input ``lead_i`` (batch, window) float32, output ``leads``
(batch, 12, window); the any-lead model's inputs are ``given`` (batch, 12, window) and
``present`` (batch, 12). The image layout lives inside the graph.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import keras
import numpy as np

from training import anylead, ekgan, recipes
from training.cards import REGISTRY, git_commit, register, sha256
from training.recipes import Config


def load_generator(weights: Path, config: dict, width: int) -> keras.Model:
    """A run's generator (``config``: its meta.json ``config``) with the weights that
    ``training.train`` saved (any backend, float16 or float32)."""
    cfg = Config(**config)
    keras.mixed_precision.set_global_policy("float32")  # exported graphs compute in float32
    generator = recipes.generator(cfg, width)
    with np.load(weights) as z:
        for i, v in enumerate(generator.weights):
            v.assign(z[f"w{i}"].astype(np.float32))
    return generator


def _describe_data(cfg: Config) -> str:
    """The data of a run whose meta.json predates its ``data`` entry, from its cache."""
    from training.data import TRAIN_FOLDS, VALID_FOLD, Cache, describe

    cache = Cache.load(Path(cfg.cache).expanduser())
    return describe(
        cache, cache.select(TRAIN_FOLDS, cfg.source_fs or None), cache.select((VALID_FOLD,))
    )


def to_onnx(generator: keras.Model, out: Path, width: int = 512, fp16: bool = False) -> Path:
    """Write the contract model to ``out`` (float16 weights with float32 I/O if ``fp16``): the
    Lead I contract, or the any-lead one for a generator of two input channels."""
    import onnx

    if generator.input.shape[-1] == 2:
        model, names = anylead.contract_model(generator, width), ["given", "present"]
        sample = [np.zeros((1, 12, width), np.float32), np.ones((1, 12), np.float32)]
    else:
        model, names = ekgan.contract_model(generator, width), ["lead_i"]
        sample = np.zeros((1, width), dtype=np.float32)
    model(sample)  # Keras exports only models that have run
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        model.export(str(path), format="onnx", verbose=False)
        proto = onnx.load(str(path))
    _symmetric_conv_transpose(proto)
    if fp16:
        from onnxconverter_common import float16

        proto = float16.convert_float_to_float16(proto, keep_io_types=True)
    _rename_io(proto, names)
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(proto, str(out))
    return out


def _symmetric_conv_transpose(proto) -> None:
    """Give every ConvTranspose equal padding on both sides, cropping the rest with a Slice.

    "same" padding of an even kernel at stride 1 pads one side only; onnxruntime's CUDA
    provider cannot run that and hands the node to the CPU, copying activations back and forth.
    Padding less and slicing the surplus off computes the same numbers.
    """
    import onnx
    from onnx import helper, numpy_helper

    nodes = []
    for node in proto.graph.node:
        nodes.append(node)
        if node.op_type != "ConvTranspose":
            continue
        pads = next((a for a in node.attribute if a.name == "pads"), None)
        if pads is None:
            continue
        half = len(pads.ints) // 2
        begin, end = list(pads.ints[:half]), list(pads.ints[half:])
        if begin == end:
            continue
        keep = [min(b, e) for b, e in zip(begin, end, strict=True)]
        pads.ints[:] = keep + keep
        axes = [2 + i for i in range(half) if begin[i] != end[i]]
        big = np.iinfo(np.int64).max
        starts = [begin[a - 2] - keep[a - 2] for a in axes]
        ends = [-(end[a - 2] - keep[a - 2]) or big for a in axes]
        prefix = node.name + "/symmetric"
        for suffix, values in (("starts", starts), ("ends", ends), ("axes", axes)):
            proto.graph.initializer.append(
                numpy_helper.from_array(np.asarray(values, np.int64), f"{prefix}/{suffix}")
            )
        cropped = node.output[0]
        node.output[0] = prefix + "/uncropped"
        nodes.append(
            helper.make_node(
                "Slice",
                [node.output[0], f"{prefix}/starts", f"{prefix}/ends", f"{prefix}/axes"],
                [cropped],
                name=prefix + "/slice",
            )
        )
    del proto.graph.node[:]
    proto.graph.node.extend(nodes)
    onnx.checker.check_model(proto)


def _rename_io(proto, inputs: list[str]) -> None:
    """Give the graph's inputs (in order) and output the contract's names wherever they are
    referenced."""
    new = {v.name: name for v, name in zip(proto.graph.input, inputs, strict=True)}
    new[proto.graph.output[0].name] = "leads"
    for node in proto.graph.node:
        node.input[:] = [new.get(n, n) for n in node.input]
        node.output[:] = [new.get(n, n) for n in node.output]
    for v in [*proto.graph.input, proto.graph.output[0]]:
        v.name = new[v.name]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--weights", type=Path, required=True)
    p.add_argument("--meta", type=Path, required=True, help="the run's meta.json")
    p.add_argument("--name", default="ekgan")
    p.add_argument("--version", required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--fp16", action="store_true", help="store weights as float16 (half the size)")
    p.add_argument(
        "--stride",
        type=int,
        default=None,
        help="window step at run time (default: the run's); fewer windows per second of input "
        "is faster, and the card's expected error must then be recalibrated for it",
    )
    p.add_argument("--bundled", action="store_true", help="ships inside the package")
    p.add_argument(
        "--default",
        action="store_true",
        help="make it the default model (an any-lead model: the registry's any_lead_default)",
    )
    p.add_argument("--description", default=None, help="for `ecg12 models`; default: architecture")
    p.add_argument("--extra", type=Path, default=None, help="JSON merged into the card (metrics)")
    p.add_argument(
        "--training-notes",
        type=Path,
        default=None,
        help="JSON merged into the card's training block (stages, how it was warm-started)",
    )
    p.add_argument(
        "--registry",
        type=Path,
        default=REGISTRY,
        help="registry.json to register in (default: the package's; a bundled --out must sit "
        "beside it)",
    )
    args = p.parse_args(argv)
    meta = json.loads(args.meta.read_text())
    spec = dict(meta["spec"], stride=args.stride or meta["spec"]["stride"])
    generator = load_generator(args.weights, meta["config"], spec["window"])
    to_onnx(generator, args.out, spec["window"], args.fp16)
    best = {k: v for k, v in meta["best"].items()}
    card = {
        "version": args.version,
        "file": args.out.name,
        "sha256": sha256(args.out),
        "size_bytes": args.out.stat().st_size,
        "bundled": args.bundled,
        "description": args.description or recipes.architecture(Config(**meta["config"])),
        "preprocessing": spec,
        "training": {
            "architecture": recipes.architecture(Config(**meta["config"])),
            "parameters": int(generator.count_params()),
            "weights_dtype": "float16" if args.fp16 else "float32",
            "data": meta.get("data") or _describe_data(Config(**meta["config"])),
            "config": meta["config"],
            "epochs_trained": meta["epoch"],
            "best_epoch": best["epoch"],
            "train_seconds": round(meta["train_seconds"], 1),
            "backend": meta["backend"],
            "hardware": meta.get("hardware", "unknown"),
            "git_commit": git_commit(),
        },
        "metrics": {"fold9_training_eval": {k: v for k, v in best.items() if k != "per_lead"}},
    }
    if generator.input.shape[-1] == 2:
        card["inputs"] = "any"  # the any-lead contract (ecg12.registry)
    if args.extra:
        card["metrics"].update(json.loads(args.extra.read_text()))
    if args.training_notes:
        card["training"].update(json.loads(args.training_notes.read_text()))
    register(args.name, card, registry=args.registry, default=args.default)
    print(
        f"{args.out} ({card['size_bytes'] / 2**20:.1f} MiB, sha256 {card['sha256'][:12]}...) "
        f"registered as {args.name} {args.version}"
    )


if __name__ == "__main__":
    main()
