"""Embedders: pinned preprocessing, the protocol, the metric pipeline over embeddings, loader errors, and the
published checkpoints resolved through a local HTTP server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import io
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import numpy as np
import pytest
import torch
from torch import nn

from avikit.data.download import ChecksumError
from avikit.data.synth import SynthConfig, generate
from avikit.media import AVClip
from avikit.metrics.generation import evaluate_frechet_distance
from avikit.models import embedders
from avikit.models.embedders import (
    WEIGHTS,
    Cnn14,
    Cnn14Config,
    Embedder,
    ModuleEmbedder,
    WeightsSource,
    load_embedder,
    load_panns,
    resolve_weights,
)


class _Stats(nn.Module):
    def forward(self, waveform: torch.Tensor) -> dict[str, torch.Tensor]:
        frames = waveform.unfold(-1, 400, 400)  # [1, F, 400]
        embedding = torch.stack([frames.std(-1).mean(-1), frames.abs().amax(-1).mean(-1)], dim=-1)
        return {"embedding": embedding, "logits": embedding @ torch.ones(2, 3)}


def test_preprocessing_is_mono_mean_removed_and_cut():
    waveform = np.stack([np.full(24000, 0.5, np.float32), np.full(24000, 0.1, np.float32)])
    clip = AVClip(waveform=waveform, sample_rate=16000)
    embedder = ModuleEmbedder("stats", _Stats(), 16000, duration=1.0)
    prepared = embedder.prepare(clip)
    assert prepared.shape == (1, 16000) and float(prepared.abs().max()) < 1e-6
    assert isinstance(embedder, Embedder) and embedder.preprocessing["duration"] == 1.0


def test_a_clip_at_another_rate_is_an_error():
    clip = AVClip(waveform=np.zeros((1, 800), np.float32), sample_rate=8000)
    with pytest.raises(ValueError, match="resample"):
        ModuleEmbedder("stats", _Stats(), 16000).embed(clip)


def test_embeddings_of_avsynth_clips_feed_the_frechet_distance():
    embedder = ModuleEmbedder("stats", _Stats(), 16000, duration=1.0)
    config = SynthConfig(duration=1, size=32)
    features = [embedder.embed(generate("test", index, config=config)[1]) for index in range(6)]
    assert features[0]["embedding"].shape == (2,) and features[0]["logits"].shape == (3,)
    embeddings = np.stack([item["embedding"] for item in features])
    assert evaluate_frechet_distance(embeddings, embeddings)["frechet_distance"] == pytest.approx(
        0.0, abs=1e-9
    )


def test_loader_names_and_missing_transformers(monkeypatch):
    with pytest.raises(ValueError, match="choose one of"):
        load_embedder("inception")
    assert sorted(embedders.EMBEDDER_LOADERS) == [
        "clap",
        "imagebind",
        "imagebind-video",
        "panns",
        "passt",
        "vggish",
    ]
    monkeypatch.setitem(sys.modules, "transformers", None)  # as if it were not installed
    with pytest.raises(ImportError, match=r"pip install 'avikit\[embedders\]'"):
        load_embedder("clap")


def test_every_published_source_is_https_with_a_cache_name():
    for name, source in WEIGHTS.items():
        assert source.url.startswith("https://") and source.filename and source.origin, name
        assert all(len(d) == n for d, n in ((source.md5, 32), (source.sha256, 64)) if d is not None), name


PAYLOAD = b"not a real checkpoint" * 500


class _Handler(BaseHTTPRequestHandler):
    requests: ClassVar[list[str]] = []
    files: ClassVar[dict[str, bytes]] = {"/weights.bin": PAYLOAD}

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.requests.append(self.path)
        body = self.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_resolve_downloads_once_and_checks_the_md5(server, tmp_path):
    source = WeightsSource(f"{server}/weights.bin", "w.bin", md5=hashlib.md5(PAYLOAD).hexdigest())
    before = len(_Handler.requests)
    path = resolve_weights(source, cache_dir=tmp_path)
    assert path == tmp_path / "w.bin" and path.read_bytes() == PAYLOAD
    assert resolve_weights(source, cache_dir=tmp_path) == path and len(_Handler.requests) == before + 1
    wrong = WeightsSource(f"{server}/weights.bin", "x.bin", md5="0" * 32)
    with pytest.raises(ChecksumError, match="md5"):
        resolve_weights(wrong, cache_dir=tmp_path)
    assert not (tmp_path / "x.bin").exists()


def test_resolve_checks_a_torch_hub_hash_prefix(server, tmp_path):
    prefix = hashlib.sha256(PAYLOAD).hexdigest()[:8]
    good = WeightsSource(f"{server}/weights.bin", f"w-{prefix}.pth", sha256_prefix=prefix)
    assert resolve_weights(good, cache_dir=tmp_path).read_bytes() == PAYLOAD
    bad = WeightsSource(f"{server}/weights.bin", "w-00000000.pth", sha256_prefix="00000000")
    with pytest.raises(ChecksumError, match="does not start with 00000000"):
        resolve_weights(bad, cache_dir=tmp_path)
    assert not (tmp_path / "w-00000000.pth").exists()


def test_a_local_checkpoint_wins_and_must_exist(tmp_path):
    (tmp_path / "mine.pth").write_bytes(b"x")
    unreachable = WeightsSource("http://127.0.0.1:9/none", "none.pth")
    assert resolve_weights(unreachable, tmp_path / "mine.pth") == tmp_path / "mine.pth"
    with pytest.raises(FileNotFoundError, match="does not exist"):
        resolve_weights(unreachable, tmp_path / "absent.pth")


def test_load_panns_downloads_the_published_file_into_the_cache(server, tmp_path, monkeypatch):
    tiny = Cnn14Config(widths=(2, 2, 2, 2, 2, 3), classes=4)
    torch.manual_seed(0)
    model = Cnn14(tiny).eval()
    buffer = io.BytesIO()
    torch.save({"model": model.state_dict(), "iteration": 1}, buffer)
    _Handler.files["/Cnn14_16k.pth"] = buffer.getvalue()
    source = WeightsSource(
        f"{server}/Cnn14_16k.pth", "Cnn14_16k_mAP=0.438.pth", md5=hashlib.md5(buffer.getvalue()).hexdigest()
    )
    monkeypatch.setitem(embedders.hub.WEIGHTS, "panns", source)
    monkeypatch.setenv("AVIKIT_CACHE", str(tmp_path))
    embedder = load_panns(cfg=tiny)
    assert (tmp_path / "embedders" / "Cnn14_16k_mAP=0.438.pth").is_file()
    clip = AVClip(
        waveform=np.random.default_rng(0).uniform(-1, 1, (1, 8000)).astype(np.float32), sample_rate=16000
    )
    with torch.no_grad():
        expected = model(embedder.prepare(clip))["logits"][0].numpy()
    np.testing.assert_allclose(embedder.embed(clip)["logits"], expected, rtol=1e-6)
