"""Model files and training checkpoints: safetensors plus JSON, never pickles.

A model ``X`` is two files written atomically: ``X.safetensors`` (every
tensor of the state dict) and ``X.json`` (format version, species, the
descriptor's ``to_dict()``, network shape, scalers, reference energies, units
and a training summary). Loading never calls ``torch.load``: safetensors only
holds raw tensors, so a model file cannot run code.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import MatsightError
from ..io import atomic_path, atomic_write, to_jsonable

__all__ = ["FORMAT_VERSION", "save_model", "load_model", "resolve_model_path", "pretrained_names",
           "save_checkpoint", "load_checkpoint"]

# 2: optional "n_inputs" and a "projection" tensor (principal-component inputs); version 1 files load unchanged
FORMAT_VERSION = 2
# 3: per-member input widths ("member_inputs"), written only by models that have them
FORMAT_VERSION_MEMBER_INPUTS = 3
READABLE_VERSIONS = (1, 2, 3)
PRETRAINED_DIR = Path(__file__).parent / "pretrained"
UNITS = {"energy": "eV", "length": "Angstrom", "forces": "eV/Angstrom", "stress": "eV/Angstrom^3"}


def _suffixed(stem, suffix: str) -> Path:
    """``stem`` + ``suffix`` (unlike ``with_suffix``, keeps dots inside the stem)."""
    return Path(str(stem) + suffix)


def pretrained_names() -> list[str]:
    """Names of the models shipped with matsight (e.g. ``si-mlearn``)."""
    return sorted(p.stem for p in PRETRAINED_DIR.glob("*.json"))


def resolve_model_path(name_or_path) -> Path:
    """The stem ``X`` of a model given as a shipped name, ``X``, ``X.json`` or ``X.safetensors``."""
    text = os.fspath(name_or_path)
    p = Path(text)
    if p.suffix in (".json", ".safetensors"):
        p = p.with_suffix("")
    if _suffixed(p, ".json").is_file() and _suffixed(p, ".safetensors").is_file():
        return p
    if _suffixed(p, ".json").is_file() or _suffixed(p, ".safetensors").is_file():
        missing = _suffixed(p, ".safetensors") if _suffixed(p, ".json").is_file() else _suffixed(p, ".json")
        raise MatsightError(f"model {text!r} is incomplete: {missing} is missing")
    if text in pretrained_names():
        return PRETRAINED_DIR / text
    names = ", ".join(pretrained_names()) or "none"
    raise MatsightError(f"model {text!r} is neither a model file (X.safetensors + X.json) nor a shipped model (shipped: {names})")


def _state_tensors(model) -> dict:
    return {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}


def _version(model) -> int:
    return FORMAT_VERSION if model.member_inputs is None else FORMAT_VERSION_MEMBER_INPUTS


def model_metadata(model, training: dict | None = None) -> dict:
    """The JSON side of a model file."""
    sp = list(model.species)
    return {
        "format": "matsight-behler-parrinello",
        "format_version": _version(model),
        "species": sp,
        "descriptor": {"type": "ACSF", **model.descriptor.to_dict()},
        "n_features": model.n_features,
        "n_inputs": model.n_inputs if model.projected else None,
        **({} if model.member_inputs is None else {"member_inputs": list(model.member_inputs)}),
        "hidden": list(model.hidden),
        "activation": model.activation,
        "n_members": model.n_members,
        "dtype": str(next(model.parameters()).dtype).replace("torch.", ""),
        "scalings": {
            "feature_mean": {s: model.feature_mean[k].tolist() for k, s in enumerate(sp)},
            "feature_std": {s: model.feature_std[k].tolist() for k, s in enumerate(sp)},
            "energy_scale_eV": float(model.energy_scale),
        },
        "reference_energies_eV": {s: float(model.reference_energies[k]) for k, s in enumerate(sp)},
        "units": UNITS,
        "training": training or {},
    }


def save_model(model, path, training: dict | None = None) -> Path:
    """Write ``path.safetensors`` and ``path.json`` atomically; returns the stem.

    Parameters
    ----------
    model : NeuralPotential
    path : path-like
        ``X``, ``X.json`` or ``X.safetensors``.
    training : dict, optional
        Training summary stored in the JSON file.
    """
    from safetensors.torch import save_file

    stem = Path(os.fspath(path))
    if stem.suffix in (".json", ".safetensors"):
        stem = stem.with_suffix("")
    meta = model_metadata(model, training)
    with atomic_path(_suffixed(stem, ".safetensors")) as tmp:
        save_file(_state_tensors(model), str(tmp), metadata={"format_version": str(_version(model))})
    with atomic_write(_suffixed(stem, ".json")) as fh:
        json.dump(to_jsonable(meta), fh, indent=1)
        fh.write("\n")
    return stem


def load_model(name_or_path, dtype=None):
    """Load a model from ``X.safetensors`` + ``X.json`` or a shipped name.

    Parameters
    ----------
    name_or_path : str or path-like
        ``"si-mlearn"`` or a path (with or without suffix).
    dtype : torch.dtype, optional
        Cast the parameters (default: as stored).

    Returns
    -------
    NeuralPotential
        In evaluation mode, with ``model.metadata`` holding the JSON file.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from . import ACSF
    from ._model import NeuralPotential

    stem = resolve_model_path(name_or_path)
    jpath = _suffixed(stem, ".json")
    try:
        meta = json.loads(jpath.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MatsightError(f"model file {jpath} is not valid JSON: {exc}") from None
    if not isinstance(meta, dict) or meta.get("format") != "matsight-behler-parrinello":
        raise MatsightError(f"{jpath} is not a matsight potential file")
    version = meta.get("format_version")
    if version not in READABLE_VERSIONS:
        raise MatsightError(f"{jpath} has format_version {version}; this matsight reads versions "
                            f"{', '.join(map(str, READABLE_VERSIONS))}")
    desc = dict(meta["descriptor"])
    desc.pop("type", None)
    try:
        descriptor = ACSF.from_dict(desc)
        model = NeuralPotential(descriptor, meta["species"], tuple(meta["hidden"]), meta["activation"], meta["n_members"],
                                n_inputs=meta.get("n_inputs"), member_inputs=meta.get("member_inputs"))
    except (KeyError, TypeError, ValueError) as exc:
        raise MatsightError(f"{jpath} is missing or has a malformed entry: {exc}") from None
    try:
        tensors = load_file(str(_suffixed(stem, ".safetensors")))
    except (SafetensorError, OSError, ValueError) as exc:
        raise MatsightError(f"could not read {_suffixed(stem, '.safetensors')}: {exc}") from None
    model_dtype = getattr(__import__("torch"), meta.get("dtype", "float32"))
    model.to(model_dtype)
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as exc:
        raise MatsightError(f"{_suffixed(stem, '.safetensors')} does not match {jpath}: {str(exc).splitlines()[0]}") from None
    if dtype is not None:
        model.to(dtype)
    model.eval()
    model.metadata = meta
    model.source = str(stem)
    return model


# ---------------------------------------------------------------------- checkpoints
def save_checkpoint(path, tensors: dict, state: dict) -> None:
    """Write a checkpoint atomically: ``path.safetensors`` with the JSON ``state``
    embedded in its metadata (so the two can never disagree), plus a readable
    ``path.json`` copy."""
    from safetensors.torch import save_file

    stem = Path(path)
    text = json.dumps(to_jsonable(state))
    with atomic_path(_suffixed(stem, ".safetensors")) as tmp:
        save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(tmp), metadata={"state": text})
    with atomic_write(_suffixed(stem, ".json")) as fh:
        fh.write(text)


def load_checkpoint(path):
    """``(tensors, state)`` from :func:`save_checkpoint`, or ``None`` if absent."""
    from safetensors import safe_open

    stem = Path(path)
    f = _suffixed(stem, ".safetensors")
    if not f.is_file():
        return None
    try:
        tensors = {}
        with safe_open(str(f), framework="pt") as fh:
            state = json.loads(fh.metadata()["state"])
            for k in fh.keys():
                tensors[k] = fh.get_tensor(k)
    except Exception as exc:  # a corrupt checkpoint is reported, not silently ignored
        raise MatsightError(f"checkpoint {f} is unreadable ({exc}); delete it to start afresh") from None
    return tensors, state
