"""Model cards, and verified local copies of the model files they describe.

Everything about a model (file, sha256, size, preprocessing, training notes, metrics) lives in
the data file ``ecg12/models/registry.json``. This module reads and validates it and turns a card
into a verified file on disk, so adding or updating a model never touches Python code.

Environment variables (read at call time, never at import):

``ECG12_REGISTRY``
    Path to an alternative ``registry.json``; its bundled models live next to it.
``ECG12_MODEL_URL``
    Base URL that non-bundled models are downloaded from (a mirror), instead of ``base_url``.
``ECG12_CACHE_DIR``
    Folder for downloaded models; default: the OS cache folder (``~/.cache/ecg12`` on Linux).

There is deliberately no switch to skip hash checks.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

from ecg12.errors import ModelError
from ecg12.preprocess import PreprocessSpec
from ecg12.trust import Calibration, inputs_key, parse_inputs_key

_log = logging.getLogger(__name__)

# A model's fields and their JSON types; every field is required and no others are allowed,
# so a typo in the registry fails loudly instead of silently falling back to a default.
_CARD_FIELDS: dict[str, type] = {
    "version": str,
    "file": str,
    "sha256": str,
    "size_bytes": int,
    "bundled": bool,
    "description": str,
    "preprocessing": dict,
    "training": dict,
    "metrics": dict,
}
# Optional: a card may carry a per-lead error calibration (see ecg12.trust) and say that its
# model takes any set of leads (``"inputs": "any"``; absent: Lead I only), calibrated per set.
_OPTIONAL_CARD_FIELDS: dict[str, type] = {"trust": dict, "inputs": str, "trust_by_inputs": dict}
_TOP_FIELDS: dict[str, type] = {"base_url": str, "default": str, "models": dict}
# Optional: the model used when an input offers other standard leads than Lead I alone.
_OPTIONAL_TOP_FIELDS: dict[str, type] = {"any_lead_default": str}
_JSON_TYPE_NAMES = {str: "a string", int: "an integer", bool: "true or false", dict: "an object"}
# Names and versions become cache folder names, so they must not be able to climb out of it.
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
#: A registry holds cards of a few KiB each; a larger file is the wrong one (``/dev/urandom``),
#: refused before it fills memory.
MAX_REGISTRY_BYTES = 16 << 20
# Extra download attempts after a failure; pooch backs off between them (1 s, 2 s, ... max 10 s).
_RETRIES = 2

Where = Literal["bundled", "cached", "remote"]
#: A model's input contract: ``lead_i`` (input ``lead_i`` [batch, window]) or ``any``
#: (inputs ``given`` [batch, 12, window] and ``present`` [batch, 12]).
Inputs = Literal["lead_i", "any"]


@dataclass(frozen=True)
class ModelCard:
    """One model as registry.json describes it: its file, checksum and how to feed it."""

    name: str
    version: str
    file: str
    sha256: str
    size_bytes: int
    bundled: bool
    description: str
    preprocessing: PreprocessSpec
    training: dict[str, Any]
    metrics: dict[str, Any]
    trust: Calibration | None = None  # per-lead expected error, when the card is calibrated
    inputs: Inputs = "lead_i"
    #: An any-lead model's calibrations, by set of given leads (see ecg12.trust.inputs_key).
    trust_by_inputs: dict[str, Calibration] = field(default_factory=dict)

    def calibration(self, given: tuple[str, ...] | list[str]) -> Calibration | None:
        """The calibration for the leads given to the model (after limb completion), if any."""
        if self.inputs == "lead_i":
            return self.trust
        return self.trust_by_inputs.get(inputs_key(given))


@dataclass(frozen=True)
class Registry:
    """All model cards, where bundled files live and where the others are downloaded from."""

    base_url: str
    default: str
    cards: dict[str, ModelCard]
    bundle_dir: Path
    #: The model for inputs offering other standard leads than Lead I alone; None: the default.
    any_lead_default: str | None = None

    def card(self, name: str | None = None) -> ModelCard:
        """The card called ``name``, or the default model's card when ``name`` is None."""
        key = self.default if name is None else name
        if key not in self.cards:
            known = ", ".join(sorted(self.cards)) or "none"
            raise ModelError(f"unknown model '{key}'; known models: {known}")
        return self.cards[key]

    def model_for(self, leads: tuple[str, ...]) -> str:
        """The model to run on an input offering standard ``leads``: the default for Lead I
        alone (or no lead name at all), else :attr:`any_lead_default` where there is one."""
        if leads in ((), ("I",)) or self.any_lead_default is None:
            return self.default
        return self.any_lead_default

    def url(self, card: ModelCard) -> str:
        """Where a non-bundled model's file is downloaded from."""
        return self.base_url.rstrip("/") + "/" + card.file


def load_registry(path: Path | None = None) -> Registry:
    """Read and validate a registry file.

    ``path`` defaults to ``$ECG12_REGISTRY`` and then to the registry shipped in the package.
    ``$ECG12_MODEL_URL``, when set, replaces the file's ``base_url``.
    """
    if path is None and os.environ.get("ECG12_REGISTRY"):
        path = Path(os.environ["ECG12_REGISTRY"]).expanduser()
    if path is None:
        bundle_dir = Path(os.fspath(files("ecg12") / "models"))
        path = bundle_dir / "registry.json"
    else:
        bundle_dir = path.parent
    try:
        with open(path, "rb") as stream:
            raw = stream.read(MAX_REGISTRY_BYTES + 1)
    except OSError as exc:
        raise ModelError(f"{path}: cannot read the model registry ({exc.strerror})") from None
    if len(raw) > MAX_REGISTRY_BYTES:
        raise ModelError(
            f"{path}: larger than {MAX_REGISTRY_BYTES >> 20} MiB, so not a model registry "
            "(check ECG12_REGISTRY)"
        )
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ModelError(f"{path}: the model registry is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path}: the model registry is not valid JSON ({exc})") from None
    _check_fields(data, _TOP_FIELDS, f"{path}", _OPTIONAL_TOP_FIELDS)
    cards = {
        name: _parse_card(name, entry, f"{path}: model '{name}'")
        for name, entry in data["models"].items()
    }
    if cards and data["default"] not in cards:
        raise ModelError(f"{path}: field 'default' names unknown model '{data['default']}'")
    any_lead = data.get("any_lead_default")
    if any_lead is not None and (any_lead not in cards or cards[any_lead].inputs != "any"):
        raise ModelError(
            f'{path}: field \'any_lead_default\' must name a model with "inputs": "any", '
            f"got '{any_lead}'"
        )
    base_url = os.environ.get("ECG12_MODEL_URL") or data["base_url"]
    return Registry(
        base_url=base_url,
        default=data["default"],
        cards=cards,
        bundle_dir=bundle_dir,
        any_lead_default=any_lead,
    )


def _check_fields(
    data: Any, fields: dict[str, type], where: str, optional: dict[str, type] | None = None
) -> None:
    """Require exactly ``fields`` (plus any of ``optional``) in a JSON object, each of its type."""
    if not isinstance(data, dict):
        raise ModelError(f"{where}: must be a JSON object")
    missing = [field for field in fields if field not in data]
    if missing:
        raise ModelError(f"{where}: missing field '{missing[0]}'")
    optional = optional or {}
    unknown = sorted(set(data) - set(fields) - set(optional))
    if unknown:
        raise ModelError(f"{where}: unknown field '{unknown[0]}'")
    for key, kind in (fields | {k: v for k, v in optional.items() if k in data}).items():
        value = data[key]
        # bool is an int in Python but not in JSON: `"size_bytes": true` is a mistake.
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise ModelError(
                f"{where}: field '{key}' must be {_JSON_TYPE_NAMES[kind]}, got {value!r}"
            )


def _parse_card(name: str, entry: Any, where: str) -> ModelCard:
    if not _SAFE_NAME.fullmatch(name):
        raise ModelError(f"{where}: model names may use only letters, digits and . _ + -")
    _check_fields(entry, _CARD_FIELDS, where, _OPTIONAL_CARD_FIELDS)
    if not _SAFE_NAME.fullmatch(entry["version"]):
        raise ModelError(f"{where}: field 'version' may use only letters, digits and . _ + -")
    if not _SAFE_NAME.fullmatch(entry["file"]):
        raise ModelError(f"{where}: field 'file' must be a plain file name, got {entry['file']!r}")
    if not _SHA256.fullmatch(entry["sha256"]):
        raise ModelError(f"{where}: field 'sha256' must be 64 hex digits, got {entry['sha256']!r}")
    if entry["size_bytes"] <= 0:
        raise ModelError(f"{where}: field 'size_bytes' must be positive, got {entry['size_bytes']}")
    try:
        spec = PreprocessSpec.from_dict(entry["preprocessing"])
    except (TypeError, ValueError) as exc:
        raise ModelError(f"{where}: field 'preprocessing' is invalid ({exc})") from None
    if entry.get("inputs", "any") != "any":
        raise ModelError(f"{where}: field 'inputs' may only be \"any\", got {entry['inputs']!r}")
    inputs: Inputs = "any" if "inputs" in entry else "lead_i"
    calibrated = "trust_by_inputs" if inputs == "any" else "trust"
    wrong = "trust" if inputs == "any" else "trust_by_inputs"
    if wrong in entry:
        raise ModelError(
            f"{where}: field '{wrong}' does not fit this model's inputs; use '{calibrated}'"
        )
    trust, by_inputs = None, {}
    try:
        if "trust" in entry:
            trust = Calibration.from_dict(entry["trust"], given_grade="good")
        for key, block in entry.get("trust_by_inputs", {}).items():
            by_inputs[key] = Calibration.from_dict(block, given=parse_inputs_key(key))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ModelError(f"{where}: field '{calibrated}' is invalid ({exc})") from None
    return ModelCard(
        name=name,
        version=entry["version"],
        file=entry["file"],
        sha256=entry["sha256"].lower(),
        size_bytes=entry["size_bytes"],
        bundled=entry["bundled"],
        description=entry["description"],
        preprocessing=spec,
        training=entry["training"],
        metrics=entry["metrics"],
        trust=trust,
        inputs=inputs,
        trust_by_inputs=by_inputs,
    )


def cache_dir() -> Path:
    """The folder downloaded models go to: ``$ECG12_CACHE_DIR``, else the OS cache folder."""
    if os.environ.get("ECG12_CACHE_DIR"):
        return Path(os.environ["ECG12_CACHE_DIR"]).expanduser()
    import pooch

    return Path(pooch.os_cache("ecg12")).expanduser()


def _cache_file(card: ModelCard) -> Path:
    # A folder per name and version: a new release never overwrites the file an old one uses.
    return cache_dir() / card.name / card.version / card.file


def model_status(card: ModelCard, registry: Registry) -> Where:
    """Where the model's file is now. Cheap: "cached" means present, not yet hash-checked."""
    if card.bundled:
        return "bundled"
    return "cached" if _cache_file(card).is_file() else "remote"


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in 1 MiB blocks (model files are tens of MB)."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_path(card: ModelCard, registry: Registry, download: bool = True) -> Path:
    """The model's file on disk, its sha256 checked against the card.

    Bundled files must match (otherwise the install is corrupt). A corrupt cached file is
    logged, deleted and fetched again. Downloads happen only when ``download`` is True; they
    go to a temporary file that is renamed into place only after its hash matches.
    """
    if card.bundled:
        path = registry.bundle_dir / card.file
        if not path.is_file():
            raise ModelError(
                f"bundled model '{card.name}' is missing ({path}); "
                "the ecg12 install is corrupt, reinstall it"
            )
        if file_sha256(path) != card.sha256:
            raise ModelError(
                f"bundled model '{card.name}' ({path}) fails its sha256 check; "
                "the ecg12 install is corrupt, reinstall it"
            )
        return path
    path = _cache_file(card)
    if path.is_file():
        if file_sha256(path) == card.sha256:
            return path
        _log.warning("cached model %s fails its sha256 check; deleting it to fetch it again", path)
        path.unlink()
    if not download:
        raise ModelError(
            f"model '{card.name}' is not downloaded yet; "
            f"run `ecg12 models fetch {card.name}` while online"
        )
    return _download(card, registry, path)


def _download(card: ModelCard, registry: Registry, path: Path) -> Path:
    import pooch

    url = registry.url(card)
    fetcher = pooch.Pooch(
        path=path.parent,
        base_url=registry.base_url,
        urls={card.file: url},
        registry={card.file: f"sha256:{card.sha256}"},
        retry_if_failed=_RETRIES,
    )
    try:
        return Path(fetcher.fetch(card.file))
    # pooch raises ValueError for a hash mismatch (after deleting the temporary file) and
    # requests' errors, which are OSErrors, for network and HTTP failures.
    except (ValueError, OSError) as exc:
        reason = " ".join(str(exc).split())  # one line, whatever the library wrote
        raise ModelError(f"could not fetch model '{card.name}' from {url}: {reason}") from None
