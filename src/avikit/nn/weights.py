"""Weights on disk: a folder with ``model.safetensors`` and ``config.json``, from a local path or a model hub.

``config.json`` holds the model ``kind`` (which builder reads it), the model's typed config and the
sha256 of the weights file, which is checked on every load. :func:`from_pretrained` takes a local
folder, a folder name under one of ``search_dirs`` (e.g. weights shipped inside the package), or a
Hugging Face hub id ``owner/name`` (optionally ``hf:owner/name``), fetched with
``huggingface_hub.snapshot_download`` when that package is installed (``pip install 'avikit[hub]'``).

Example:
    >>> import tempfile
    >>> from dataclasses import dataclass
    >>> from torch import nn
    >>> @dataclass(frozen=True)
    ... class LinearConfig:
    ...     width: int = 4
    >>> build = lambda cfg: nn.Linear(cfg.width, cfg.width)
    >>> out = tempfile.mkdtemp()
    >>> folder = save_pretrained(build(LinearConfig()), LinearConfig(), out, kind="demo.linear")
    >>> model, cfg = from_pretrained(folder, LinearConfig, build, kind="demo.linear")
    >>> cfg.width, model.training
    (4, False)
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from safetensors.torch import load_model, save_model
from torch import nn

from avikit.data.download import compute_file_hash
from avikit.errors import AvikitError
from avikit.nn.config import config_from_dict, config_to_dict

__all__ = [
    "CONFIG_NAME",
    "WEIGHTS_NAME",
    "WeightsError",
    "count_parameters",
    "from_pretrained",
    "load_weights",
    "read_pretrained_config",
    "resolve_pretrained",
    "save_pretrained",
    "save_weights",
    "weights_sha256",
]

logger = logging.getLogger(__name__)

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"
FORMAT_VERSION = 1
_HUB_ID = re.compile(r"^(hf:)?[A-Za-z0-9][\w.-]*/[\w.-]+$")

C = TypeVar("C")
M = TypeVar("M", bound=nn.Module)


class WeightsError(AvikitError, ValueError):
    """Weights could not be found, verified or loaded into a model."""


def count_parameters(model: nn.Module) -> int:
    """Return the number of parameters of ``model`` (buffers not counted)."""
    return sum(p.numel() for p in model.parameters())


def weights_sha256(path: str | os.PathLike[str]) -> str:
    """Return the hex sha256 of a file, read in 1 MiB chunks."""
    return compute_file_hash(path, "sha256")


def save_weights(model: nn.Module, path: str | os.PathLike[str]) -> str:
    """Write the state dict of ``model`` as safetensors (bit-exact) and return the file's sha256."""
    file = Path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    save_model(model, str(file), metadata={"format": "pt"})
    return weights_sha256(file)


def load_weights(model: nn.Module, path: str | os.PathLike[str], sha256: str | None = None) -> nn.Module:
    """Load a safetensors file into ``model`` in place; every tensor must match by name and shape.

    Raises:
        WeightsError: when the hash differs from ``sha256`` or names or shapes do not match.
    """
    if sha256 is not None and weights_sha256(path) != sha256:
        raise WeightsError(
            f"{path} does not match its recorded sha256 {sha256}; the file is corrupt or replaced"
        )
    try:
        missing, unexpected = load_model(model, str(path), strict=False)
    except RuntimeError as err:  # shape mismatch
        raise WeightsError(f"cannot load {path} into {type(model).__name__}: {err}") from err
    if missing or unexpected:
        raise WeightsError(
            f"{path} does not fit {type(model).__name__}: "
            f"missing {sorted(missing)}, unexpected {sorted(unexpected)}"
        )
    return model


def save_pretrained(model: nn.Module, config: Any, out_dir: str | os.PathLike[str], kind: str) -> Path:
    """Write ``model.safetensors`` and ``config.json`` (kind, typed config, sha256) to ``out_dir``.

    Args:
        model: the model to save.
        config: the dataclass config its builder takes.
        out_dir: folder to write (made if needed).
        kind: name of the model family, checked by :func:`from_pretrained`.

    Returns:
        ``out_dir`` as a path.
    """
    folder = Path(out_dir)
    sha = save_weights(model, folder / WEIGHTS_NAME)
    meta = {
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "config": config_to_dict(config),
        "weights": {"file": WEIGHTS_NAME, "sha256": sha, "num_parameters": count_parameters(model)},
    }
    (folder / CONFIG_NAME).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return folder


def _download(repo_id: str, revision: str | None, cache_dir: str | os.PathLike[str] | None) -> Path:
    try:
        from huggingface_hub import snapshot_download
    except ImportError as err:
        raise WeightsError(
            f"{repo_id!r} is not a local folder and looks like a hub id, but huggingface_hub is not "
            "installed; pip install 'avikit[hub]' or pass a local folder"
        ) from err
    logger.info("fetching %s (revision %s) from the Hugging Face hub", repo_id, revision or "main")
    path = snapshot_download(
        repo_id=repo_id,
        revision=revision,
        cache_dir=None if cache_dir is None else Path(cache_dir),
        allow_patterns=[WEIGHTS_NAME, CONFIG_NAME, "*.md"],
    )
    return Path(path)


def resolve_pretrained(
    name_or_path: str | os.PathLike[str],
    search_dirs: Sequence[str | os.PathLike[str]] = (),
    revision: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> Path:
    """Return the local folder of ``name_or_path``: a folder, a name under ``search_dirs``, or a hub id.

    Raises:
        WeightsError: when nothing matches (the message lists where it looked).
    """
    name = str(name_or_path)
    candidates = [Path(name)] + [Path(d) / name for d in search_dirs]
    for folder in candidates:
        if (folder / CONFIG_NAME).is_file():
            return folder
    if _HUB_ID.match(name) and not Path(name).exists():
        return _download(name.removeprefix("hf:"), revision, cache_dir)
    looked = ", ".join(str(c) for c in candidates)
    raise WeightsError(
        f"no pretrained weights {name!r}: no {CONFIG_NAME} in {looked}, and it is not a hub id (owner/name)"
    )


def read_pretrained_config(
    folder: str | os.PathLike[str], config_type: type[C], kind: str | None = None
) -> C:
    """Read and check ``config.json`` of a weights folder and build its typed config strictly."""
    meta = json.loads((Path(folder) / CONFIG_NAME).read_text())
    if meta.get("format_version") != FORMAT_VERSION:
        raise WeightsError(
            f"{folder} has weights format {meta.get('format_version')}; expected {FORMAT_VERSION}"
        )
    if kind is not None and meta.get("kind") != kind:
        raise WeightsError(f"{folder} holds a {meta.get('kind')!r} model, not a {kind!r} model")
    return config_from_dict(config_type, meta["config"])


def from_pretrained(
    name_or_path: str | os.PathLike[str],
    config_type: type[C],
    build: Callable[[C], M],
    kind: str | None = None,
    search_dirs: Sequence[str | os.PathLike[str]] = (),
    revision: str | None = None,
) -> tuple[M, C]:
    """Build a model from saved weights: resolve, read the config, build, load and verify, set eval mode.

    Args:
        name_or_path: a local folder, a folder name under ``search_dirs``, or a hub id ``owner/name``.
        config_type: the dataclass of the model's config.
        build: the family's builder, ``build(config) -> model``.
        kind: expected model kind (checked when given).
        search_dirs: folders holding named weights folders (e.g. the package's own).
        revision: hub revision (branch, tag or commit).

    Returns:
        ``(model, config)``, the model in eval mode.
    """
    folder = resolve_pretrained(name_or_path, search_dirs, revision)
    config = read_pretrained_config(folder, config_type, kind)
    meta = json.loads((folder / CONFIG_NAME).read_text())["weights"]
    model = build(config)
    load_weights(model, folder / meta["file"], sha256=meta["sha256"])
    return model.eval(), config
