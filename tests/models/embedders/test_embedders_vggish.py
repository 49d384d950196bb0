"""VGGish: the front end against its published definition in numpy, the official key layout, parity with
torchvggish (when installed) and strict loading of a checkpoint file in the official layout."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from avikit.media import AVClip
from avikit.models.embedders import CheckpointLayoutError, VGGish, VGGishConfig, load_vggish
from avikit.models.embedders.vggish import vggish_examples

TINY = VGGishConfig(widths=(2, 3, 4, 4, 5, 5), hidden=6, dim=7)


def _reference_examples(signal: np.ndarray) -> np.ndarray:
    """``vggish_input.waveform_to_examples`` at 16 kHz as written in the VGGish README / mel_features.py."""
    window, hop, fft = 400, 160, 512
    hann = np.array([0.5 - 0.5 * np.cos(2 * np.pi * n / window) for n in range(window)])
    count = 1 + (len(signal) - window) // hop
    spectrum = np.array(
        [np.abs(np.fft.rfft(signal[i * hop : i * hop + window] * hann, fft)) for i in range(count)]
    )
    hertz = np.linspace(0, 8000, fft // 2 + 1)
    mel = 1127.0 * np.log(1 + hertz / 700.0)
    lo, hi = 1127.0 * np.log(1 + 125 / 700.0), 1127.0 * np.log(1 + 7500 / 700.0)
    edges = lo + (hi - lo) * np.arange(66) / 65
    matrix = np.zeros((fft // 2 + 1, 64))
    for band in range(64):
        for b in range(1, fft // 2 + 1):  # the DC bin keeps weight 0
            rise = (mel[b] - edges[band]) / (edges[band + 1] - edges[band])
            fall = (edges[band + 2] - mel[b]) / (edges[band + 2] - edges[band + 1])
            matrix[b, band] = max(0.0, min(rise, fall))
    logmel = np.log(spectrum @ matrix + 0.01)
    examples = len(logmel) // 96
    return logmel[: examples * 96].reshape(examples, 96, 64)


def test_front_end_matches_the_published_definition():
    rng = np.random.default_rng(0)
    signal = rng.uniform(-1, 1, 16000 * 2 + 1234)
    ours = vggish_examples(torch.from_numpy(signal)[None])[0].numpy()
    reference = _reference_examples(signal)
    assert ours.shape == (2, 96, 64) == reference.shape
    np.testing.assert_allclose(
        ours, reference, rtol=1e-5, atol=1e-5
    )  # float32 output of a float64 computation


def test_real_config_has_the_published_size_and_key_layout():
    with torch.device("meta"):
        model = VGGish(VGGishConfig())
    assert sum(p.numel() for p in model.parameters()) == 72_141_184  # VGGish model card (AudioSet release)
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    convs = {0: (64, 1), 3: (128, 64), 6: (256, 128), 8: (256, 256), 11: (512, 256), 13: (512, 512)}
    expected = {f"features.{i}.weight": (*io, 3, 3) for i, io in convs.items()}
    expected |= {f"features.{i}.bias": (io[0],) for i, io in convs.items()}
    for i, (fan_out, fan_in) in {0: (4096, 12288), 2: (4096, 4096), 4: (128, 4096)}.items():
        expected |= {f"embeddings.{i}.weight": (fan_out, fan_in), f"embeddings.{i}.bias": (fan_out,)}
    assert shapes == expected


def test_matches_torchvggish_on_the_same_weights():
    pytest.importorskip("torchvggish")
    from torchvggish.torchvggish import VGG, _vgg
    from torchvggish.vggish_input import waveform_to_examples

    with torch.device("meta"):  # the real layout, without allocating 72 M parameters
        real = {k: v.shape for k, v in _vgg(postprocess=False).state_dict().items()}
        assert real == {k: v.shape for k, v in VGGish(VGGishConfig()).state_dict().items()}
    torch.manual_seed(0)
    ours = VGGish(TINY, final_relu=True).eval()
    upstream = VGG(VGGish(TINY).features, postprocess=False)  # upstream's forward over tiny widths
    upstream.embeddings = torch.nn.Sequential(*VGGish(TINY, final_relu=True).embeddings)
    upstream.load_state_dict(ours.state_dict(), strict=True)
    signal = np.random.default_rng(1).uniform(-1, 1, 16000 * 2).astype(np.float64)
    with torch.no_grad():
        expected = upstream.eval()(waveform_to_examples(signal, 16000, return_tensor=True).float())
        got = ours(torch.from_numpy(signal)[None])["embedding"][0]
    assert got.shape == expected.shape == (2, 7)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)


def test_loads_a_checkpoint_in_the_official_layout(tmp_path):
    torch.manual_seed(0)
    source = VGGish(TINY).eval()
    torch.save(source.state_dict(), tmp_path / "vggish.pth")
    embedder = load_vggish(tmp_path / "vggish.pth", cfg=TINY)
    waveform = np.random.default_rng(2).uniform(-1, 1, (1, 16000 * 3)).astype(np.float32)
    features = embedder.embed(AVClip(waveform=waveform, sample_rate=16000))["embedding"]
    with torch.no_grad():
        expected = source(embedder.prepare(AVClip(waveform=waveform, sample_rate=16000)))["embedding"][0]
    assert features.shape == (3, 7)  # 298 frames -> 3 examples of 0.96 s
    np.testing.assert_allclose(features, expected.numpy(), rtol=1e-6)
    assert (
        embedder.preprocessing["front_end"]["n_mels"] == 64 and embedder.preprocessing["final_relu"] is False
    )


def test_a_foreign_layout_lists_missing_and_unexpected_keys(tmp_path):
    state = VGGish(TINY).state_dict()
    state["embeddings.6.weight"] = state.pop("embeddings.4.weight")
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(
        CheckpointLayoutError, match=r"missing keys: embeddings\.4\.weight.*unexpected keys: embeddings\.6"
    ):
        load_vggish(tmp_path / "bad.pth", cfg=TINY)
