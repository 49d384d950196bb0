"""Where the official embedder checkpoints are published, with the checksums their authors publish.

:func:`resolve_weights` returns a local checkpoint: the path the user gave, or the file in the cache
(``$AVIKIT_CACHE/embedders``, default ``~/.cache/avikit/embedders``), downloaded on first use through
:func:`avikit.data.download.download_file` (resumable, verified, atomic). A checksum is only what upstream
publishes: a full MD5 (MMAudio's ``download_utils.py``, the PANNs Zenodo record) or the SHA-256 prefix that
``torch.hub`` file names carry (``vggish-10086976.pth``); a source without one logs the SHA-256 of the
download so that it can be pinned.

Example:
    >>> WEIGHTS["synchformer"].md5
    '5b2f5594b0730f70e41e549b7c94390c'
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from avikit.data.download import ChecksumError, compute_file_hash, download_file
from avikit.errors import InputFileError

__all__ = ["WEIGHTS", "WeightsSource", "embedder_cache_dir", "resolve_weights"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WeightsSource:
    """One published checkpoint file.

    Attributes:
        url: where upstream publishes it.
        filename: the file name in the cache.
        md5: full MD5 hex digest published upstream, or ``None``.
        sha256: full SHA-256 hex digest published upstream, or ``None``.
        sha256_prefix: the leading SHA-256 hex digits in a ``torch.hub`` file name, or ``None``.
        origin: where the URL and checksum are published.
    """

    url: str
    filename: str
    md5: str | None = None
    sha256: str | None = None
    sha256_prefix: str | None = None
    origin: str = ""


WEIGHTS: dict[str, WeightsSource] = {
    "vggish": WeightsSource(
        url="https://github.com/harritaylor/torchvggish/releases/download/v0.1/vggish-10086976.pth",
        filename="vggish-10086976.pth",
        sha256_prefix="10086976",
        origin="harritaylor/torchvggish hubconf.py (torch.hub file-name hash); av-benchmark loads it",
    ),
    "panns": WeightsSource(
        url="https://zenodo.org/record/3987831/files/Cnn14_16k_mAP%3D0.438.pth?download=1",
        filename="Cnn14_16k_mAP=0.438.pth",
        md5="362fc5ff18f1d6ad2f6d464b45893f2c",
        origin="Zenodo record 3987831 (PANNs, Kong et al.); the 16 kHz Cnn14 that av-benchmark loads",
    ),
    "passt": WeightsSource(
        url="https://github.com/kkoutini/PaSST/releases/download/v0.0.1-audioset/passt-s-f128-p16-s10-ap.476-swa.pt",
        filename="passt-s-f128-p16-s10-ap.476-swa.pt",
        origin="kkoutini/passt_hear21 hear21passt/models/passt.py default_cfgs (no checksum published)",
    ),
    "clap": WeightsSource(
        url="https://huggingface.co/lukewys/laion_clap/resolve/main/music_speech_audioset_epoch_15_esc_89.98.pt",
        filename="music_speech_audioset_epoch_15_esc_89.98.pt",
        origin="LAION-AI/CLAP README (checkpoints on the Hugging Face hub, lukewys/laion_clap; no checksum "
        "published); av-benchmark loads it",
    ),
    "imagebind": WeightsSource(
        url="https://dl.fbaipublicfiles.com/imagebind/imagebind_huge.pth",
        filename="imagebind_huge.pth",
        origin="facebookresearch/ImageBind imagebind/models/imagebind_model.py imagebind_huge (no checksum "
        "published); av-benchmark loads it",
    ),
    "synchformer": WeightsSource(
        url="https://github.com/hkchengrex/MMAudio/releases/download/v0.1/synchformer_state_dict.pth",
        filename="synchformer_state_dict.pth",
        md5="5b2f5594b0730f70e41e549b7c94390c",
        origin="hkchengrex/MMAudio mmaudio/utils/download_utils.py; av-benchmark loads this file",
    ),
}
"""Embedder name to its published checkpoint."""


def embedder_cache_dir() -> Path:
    """``$AVIKIT_CACHE/embedders`` (default ``~/.cache/avikit/embedders``)."""
    root = os.environ.get("AVIKIT_CACHE") or Path.home() / ".cache" / "avikit"
    return Path(root) / "embedders"


def resolve_weights(
    source: WeightsSource,
    checkpoint: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> Path:
    """Return a local checkpoint: ``checkpoint`` if given, else the cached file, downloaded if needed.

    Args:
        source: the published file.
        checkpoint: a local file to use instead (it must exist; it is not checksummed, so a fine-tuned
            checkpoint in the official layout loads too).
        cache_dir: where downloads go (default :func:`embedder_cache_dir`).

    Raises:
        FileNotFoundError: ``checkpoint`` was given and does not exist.
        ChecksumError: the download does not match the published checksum (it is deleted).
        DownloadError: the download failed; the message says what happened.
    """
    if checkpoint is not None:
        path = Path(checkpoint)
        if not path.is_file():
            raise InputFileError(f"checkpoint {path} does not exist; pass a downloaded file or None")
        return path
    dest = Path(cache_dir) if cache_dir is not None else embedder_cache_dir()
    file = download_file(source.url, dest / source.filename, sha256=source.sha256, md5=source.md5)
    if source.sha256_prefix is not None:
        digest = compute_file_hash(file)
        if not digest.startswith(source.sha256_prefix):
            file.unlink()
            raise ChecksumError(
                f"{source.url}: sha256 {digest} does not start with {source.sha256_prefix} as its file name "
                "says; the file was deleted"
            )
    return file
