"""A loaded reconstruction model: one onnxruntime session plus the card that describes it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args, overload

import numpy as np

from ecg12.errors import InputError, ModelError
from ecg12.pipeline import DEFAULT_OUT_FS, Errors
from ecg12.registry import Inputs, ModelCard, Registry, load_registry, model_path

if TYPE_CHECKING:
    from onnxruntime import SessionOptions

    from ecg12.result import Reconstruction
    from ecg12.stream import Stream

#: Where the network runs: ``auto`` takes CUDA when onnxruntime offers it, else the CPU.
Device = Literal["auto", "cpu", "cuda"]
DEVICES: tuple[str, ...] = get_args(Device)
# The ONNX inputs of each contract (see ecg12.registry.Inputs); the output is always "leads".
_CONTRACTS = {"lead_i": ("lead_i",), "any": ("given", "present")}
#: onnxruntime session config entries. Idle intra-op threads sleep instead of spinning: a
#: spinning thread burns a core while it waits, which our own reading and writing threads
#: (and anything else on the machine) then lack. On 2 busy cores, 1,400 EKGAN windows took
#: 15 s of CPU and 15 s of wall time this way, 25 s and 23 s spinning (medians of 4 runs).
SESSION_CONFIG = {"session.intra_op.allow_spinning": "0"}
#: On CUDA a batch holds a multiple of this many windows, zero windows padding it: cuDNN picks
#: its kernels for each new input shape by trying them (onnxruntime's default search), so
#: records of many lengths, whose pooled batches all differ in size, would pay that search
#: on nearly every batch. Padded, a model sees at most 1,024 / 128 = 8 shapes.
CUDA_SHAPES = 128


def session_options() -> SessionOptions:
    """The ``onnxruntime.SessionOptions`` every ecg12 session is made with (threads as
    onnxruntime picks them, :data:`SESSION_CONFIG`)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    for key, value in SESSION_CONFIG.items():
        options.add_session_config_entry(key, value)
    return options


def providers(device: Device) -> tuple[list[str], str | None]:
    """The onnxruntime providers for ``device``, and a note when ``auto`` falls back to the CPU.

    The one place that chooses providers: ``cuda`` must be available or it is an error,
    ``auto`` takes CUDA when onnxruntime offers it.
    """
    import onnxruntime as ort

    if device not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}, not {device!r}")
    has_cuda = "CUDAExecutionProvider" in ort.get_available_providers()
    if device == "cuda" and not has_cuda:
        raise ModelError(
            "CUDA was requested but this onnxruntime has no CUDA provider; "
            "install ecg12[cuda] (onnxruntime-gpu) or use --device cpu"
        )
    if device == "cpu" or not has_cuda:
        note = "no CUDA provider in onnxruntime; running on the CPU" if device == "auto" else None
        return ["CPUExecutionProvider"], note
    # onnxruntime-gpu finds CUDA and cuDNN installed from pip (nvidia-* wheels) only once they
    # are preloaded; a system-wide CUDA needs nothing, and older onnxruntimes lack the call.
    preload = getattr(ort, "preload_dlls", None)
    if preload is not None:
        try:
            preload()
        except OSError:  # not found there: the session below says what is missing
            pass
    return ["CUDAExecutionProvider", "CPUExecutionProvider"], None


class Model:
    """A reusable model: load once, then reconstruct many recordings (or batches of them)."""

    def __init__(self, card: ModelCard, path: Path, device: Device = "auto") -> None:
        import onnxruntime as ort

        chosen, self.device_note = providers(device)
        try:
            self.session = ort.InferenceSession(str(path), session_options(), providers=chosen)
        except Exception as exc:  # onnxruntime raises its own types for bad graphs
            raise ModelError(f"{path}: cannot load model: {exc}") from exc
        self.card = card
        self.spec = card.preprocessing
        self.path = path
        self.device = "cuda" if self.session.get_providers()[0].startswith("CUDA") else "cpu"
        if device == "cuda" and self.device != "cuda":
            # onnxruntime falls back to the CPU with only a log line when CUDA fails to start.
            raise ModelError(
                f"{path}: CUDA was requested but onnxruntime could not start its CUDA provider "
                "(CUDA or cuDNN libraries missing?); use --device cpu or auto"
            )
        inputs = [i.name for i in self.session.get_inputs()]
        outputs = [o.name for o in self.session.get_outputs()]
        expected = _CONTRACTS[card.inputs]
        if sorted(inputs) != sorted(expected) or outputs != ["leads"]:
            raise ModelError(
                f"{path}: expected input {' and '.join(map(repr, expected))} and output "
                f"'leads', got {inputs} -> {outputs}"
            )

    @property
    def name(self) -> str:
        return self.card.name

    @property
    def inputs(self) -> Inputs:
        """``lead_i``: the model takes Lead I only; ``any``: any set of standard leads."""
        return self.card.inputs

    def __repr__(self) -> str:
        return f"<ecg12 Model {self.card.name} {self.card.version} on {self.device}>"

    @property
    def batch_size(self) -> int:
        """Windows per session call: a GPU wants large batches (EKGAN on an H200: 32,000
        windows/s at 256, 63,000 at 1,024); on CPUs 32 ran EKGAN ~5 % faster than 256 (180
        against 172 windows/s on 2 cores) with a third of the memory."""
        return 1024 if self.device == "cuda" else 32

    def predict(self, windows: np.ndarray, present: np.ndarray | None = None) -> np.ndarray:
        """Raw model call on conditioned windows -> (batch, 12, window).

        A Lead I model takes (batch, window); an any-lead model the given leads (batch, 12,
        window), zero where not given, and ``present`` (batch, 12), 1 where given.
        """
        x = np.ascontiguousarray(windows, np.float32)
        if (present is None) != (self.inputs == "lead_i"):
            raise ValueError(f"{self.name} takes {' and '.join(_CONTRACTS[self.inputs])}")
        feeds = {"lead_i": x}
        if present is not None:
            feeds = {"given": x, "present": np.ascontiguousarray(present, np.float32)}
        n = self.batch_size
        if len(x) <= n:
            return self._run(feeds)
        return np.concatenate(
            [self._run({k: v[i : i + n] for k, v in feeds.items()}) for i in range(0, len(x), n)]
        )

    def _run(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        """One session call; on CUDA with the batch padded with zero windows to a multiple of
        :data:`CUDA_SHAPES` (the padding's outputs dropped)."""
        k = len(next(iter(feeds.values())))
        if self.device != "cuda" or k % CUDA_SHAPES == 0:
            return self.session.run(["leads"], feeds)[0]
        pad = CUDA_SHAPES - k % CUDA_SHAPES
        padded = {
            name: np.pad(v, [(0, pad)] + [(0, 0)] * (v.ndim - 1)) for name, v in feeds.items()
        }
        return self.session.run(["leads"], padded)[0][:k]

    def reconstruct(
        self,
        source: str | Path | np.ndarray,
        fs: float | None = None,
        *,
        lead: str | None = None,
        leads: str | Sequence[str] | Mapping[str, str] | None = None,
        out_fs: float | None = DEFAULT_OUT_FS,
        notch_hz: float | None = None,
        accept_other_lead: bool = False,
        units: str | None = None,
        gain: float | None = None,
    ) -> Reconstruction:
        """One recording; see :func:`ecg12.reconstruct` for the arguments."""
        return self.reconstruct_many(
            [source],
            fs,
            lead=lead,
            leads=leads,
            out_fs=out_fs,
            notch_hz=notch_hz,
            accept_other_lead=accept_other_lead,
            units=units,
            gain=gain,
        )[0]

    @overload
    def reconstruct_many(
        self,
        sources: list[str | Path | np.ndarray],
        fs: float | None = ...,
        *,
        lead: str | None = ...,
        leads: str | Sequence[str] | Mapping[str, str] | None = ...,
        out_fs: float | None = ...,
        notch_hz: float | None = ...,
        accept_other_lead: bool = ...,
        units: str | None = ...,
        gain: float | None = ...,
        errors: Literal["raise"] = ...,
    ) -> list[Reconstruction]: ...
    @overload
    def reconstruct_many(
        self,
        sources: list[str | Path | np.ndarray],
        fs: float | None = ...,
        *,
        lead: str | None = ...,
        leads: str | Sequence[str] | Mapping[str, str] | None = ...,
        out_fs: float | None = ...,
        notch_hz: float | None = ...,
        accept_other_lead: bool = ...,
        units: str | None = ...,
        gain: float | None = ...,
        errors: Literal["return"],
    ) -> list[Reconstruction | InputError]: ...
    def reconstruct_many(
        self,
        sources: list[str | Path | np.ndarray],
        fs: float | None = None,
        *,
        lead: str | None = None,
        leads: str | Sequence[str] | Mapping[str, str] | None = None,
        out_fs: float | None = DEFAULT_OUT_FS,
        notch_hz: float | None = None,
        accept_other_lead: bool = False,
        units: str | None = None,
        gain: float | None = None,
        errors: Errors = "raise",
    ) -> list[Reconstruction] | list[Reconstruction | InputError]:
        """Many recordings in one pass: their windows share batches (fast for short records).

        The options apply to every input; see :func:`ecg12.reconstruct`. An any-lead model
        uses every chosen lead (Lead I alone included); a Lead I model Lead I, as it always has.
        An input that cannot be used raises its :class:`~ecg12.errors.InputError`; with
        ``errors="return"`` the error takes that input's place in the list and the others are
        reconstructed (an archive is not stopped by one bad file).
        """
        from ecg12.pipeline import reconstruct_inputs
        from ecg12.sources import read_options

        options = read_options(fs, lead, leads, accept_other_lead, units, gain)
        return reconstruct_inputs(
            self, sources, options, out_fs=out_fs, notch_hz=notch_hz, errors=errors
        )

    def stream(
        self,
        source: str | Path | np.ndarray,
        fs: float | None = None,
        *,
        lead: str | None = None,
        leads: str | Sequence[str] | Mapping[str, str] | None = None,
        out_fs: float | None = DEFAULT_OUT_FS,
        notch_hz: float | None = None,
        accept_other_lead: bool = False,
        units: str | None = None,
        gain: float | None = None,
    ) -> Stream:
        """A recording of any length, reconstructed block by block in bounded memory.

        Iterate for (samples, 12) mV blocks, or ``.write(outdir)`` it as WFDB; the arguments
        are those of :func:`ecg12.reconstruct`. WFDB and ``.npy`` inputs are read in slices,
        other formats whole.
        """
        from ecg12.pipeline import check_notch, check_out_fs
        from ecg12.sources import open_for, read_options
        from ecg12.stream import Stream

        rate = self.spec.fs if out_fs is None else check_out_fs(out_fs)
        options = read_options(fs, lead, leads, accept_other_lead, units, gain)
        return Stream(self, open_for(self.inputs, source, options), rate, check_notch(notch_hz))


def load(
    name: str | None = None,
    device: Device = "auto",
    registry: Registry | None = None,
    download: bool = True,
) -> Model:
    """Load a registered model by name (default: the registry's default, EKGAN).

    Bundled models are verified in place; others are fetched into the cache on first use
    unless ``download`` is false.
    """
    registry = registry or load_registry()
    card = registry.card(name)
    return Model(card, model_path(card, registry, download=download), device)
