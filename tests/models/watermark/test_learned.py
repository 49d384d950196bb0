"""The learned watermark pair: shapes, the strength bound, weights round trip, the packaged pair's detection
and message."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from avikit.data.synth.audio import render_audio
from avikit.data.synth.scene import sample_scene
from avikit.data.synth.speech import render_speech
from avikit.eval.watermark import load_thresholds, load_windows
from avikit.models.packaged import WEIGHTS_DIR
from avikit.models.watermark import (
    DEFAULT_WATERMARKER,
    describe_message,
    load_watermarker,
    message_for,
    message_to_int,
    set_watermarking,
)
from avikit.models.watermark.learned import (
    KIND,
    WatermarkNetConfig,
    build_watermark_pair,
    envelope,
    from_pretrained,
)
from avikit.nn import save_pretrained

TINY = WatermarkNetConfig(channels=8, hidden=16, depth=1)


def test_watermark_never_exceeds_strength_times_the_envelope():
    torch.manual_seed(0)
    pair = build_watermark_pair(TINY)
    audio = torch.randn(2, 1, 4000) * torch.linspace(0, 1, 4000)
    mark = pair.embedder(audio, torch.randint(0, 2, (2, 16)))
    bound = TINY.strength * envelope(audio, TINY.envelope_window)
    assert mark.shape == audio.shape and bool((mark.abs() <= bound + 1e-7).all())  # 1e-7: float32 rounding
    assert pair.detector(audio[..., :3001]).shape == (2, 17, 3001)  # any length, not only stride multiples


def test_envelope_equals_the_moving_rms_between_frames():
    x = torch.randn(1, 1, 4096)
    env = envelope(x, 1025, floor=0.0, hop=64)
    exact = x[0, 0, 2048 - 512 : 2048 + 513].square().mean().sqrt()
    assert float(env[0, 0, 2048]) == pytest.approx(float(exact), rel=1e-5)  # a frame centre: the exact mean


def test_save_and_load_round_trip(tmp_path):
    torch.manual_seed(1)
    pair = build_watermark_pair(TINY)
    save_pretrained(pair, TINY, tmp_path, KIND)
    marker = from_pretrained(tmp_path)
    audio = np.random.default_rng(0).standard_normal(3200).astype(np.float32) * 0.1
    with torch.no_grad():
        expected = (torch.from_numpy(audio)[None, None] + pair.embedder(torch.from_numpy(audio)[None, None],
                    torch.ones(1, 16))).reshape(-1).numpy()  # fmt: skip
    np.testing.assert_allclose(
        marker.embed(audio, np.ones(16, np.int64)), expected, atol=1e-6
    )  # same float32 ops
    assert len(marker.weights_hash) == 16


def test_messages_name_generators():
    ids = ["avikit/v2a", "avikit/v2a-flow", "avikit/joint-generation"]
    assert len({message_to_int(message_for(i)) for i in ids}) == 3
    assert describe_message(message_for("avikit/v2a-flow"), ids) == ["avikit/v2a-flow"]


pytestmark_packaged = pytest.mark.skipif(
    not (WEIGHTS_DIR / "watermark" / "model.safetensors").is_file(), reason="packaged watermark not built"
)


@pytestmark_packaged
def test_packaged_pair_detects_and_localizes_its_watermark():
    # 10 test hosts; the pair misses very quiet ones (AVSynth test 1, RMS 0.0055), so 8 of 10 must pass
    marker = load_watermarker("learned")
    threshold = load_thresholds()["learned"]["0.01"]  # calibrated on val
    rng = np.random.default_rng(0)
    hosts = [render_audio(sample_scene("test", i)).mean(0)[:32000] for i in range(6)]
    hosts += [render_speech(200_000 + i, 2.0) for i in range(4)]
    localized = detected = 0
    for host in hosts:
        mask = np.zeros(32000, bool)
        mask[8000:24000] = True
        found = marker.detect(np.where(mask, marker.embed(host, rng.integers(0, 2, 16)), host))
        localized += int(found.probability[mask].mean() > found.probability[~mask].mean() + 0.2)
        marked = marker.detect(marker.embed(host, np.ones(16, np.int64))).score
        detected += int(marker.detect(host).score < threshold < marked)
    assert localized >= 8 and detected >= 8, (localized, detected)


@pytestmark_packaged
def test_set_watermarking_changes_the_weights_hash_of_a_generator():
    from avikit.models.generation.joint_pipeline import load_joint

    joint = load_joint()
    marked_hash = joint.weights_hash
    assert f"+wm-{DEFAULT_WATERMARKER}-" in marked_hash
    assert set_watermarking(joint, False) and joint.watermarker is None
    assert joint.weights_hash == marked_hash.split("+wm-")[0]
    assert set_watermarking(object(), False) is False


@pytestmark_packaged
def test_packaged_pair_carries_its_message_on_clean_val_windows():
    # regression: the first shipped pair learned detection but left its bits at chance (accuracy 0.50)
    marker = load_watermarker("learned")
    windows, _ = load_windows("val", 16, seed=3)  # 8 AVSynth + 8 speech-like 2 s windows
    rng = np.random.default_rng(3)
    correct = 0
    for window in windows:
        message = rng.integers(0, 2, 16)
        correct += int((marker.detect(marker.embed(window, message)).message == message).sum())
    total = 16 * len(windows)
    # bits at chance are Binomial(256, 1/2): P(>= 170 right) = sum_k>=170 C(256, k) / 2^256 < 1e-7
    tail = sum(math.comb(total, k) for k in range(170, total + 1)) / 2**total
    assert tail < 1e-7
    # the shipped pair gets 197 here; the 27 spare bits cover logits near 0 that another BLAS could flip
    assert correct >= 170, f"{correct} of {total} bits right"
