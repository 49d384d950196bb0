"""The mel tokenizer: protocol and rates, learning, the frozen vocoder, and mel-token generators end to end."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from avikit.models.generation.clips import load_pairs
from avikit.models.generation.v2a_network import (
    TokenV2A,
    V2AConfig,
    build_token_v2a,
    delay_codes,
    undelay_codes,
)
from avikit.models.generation.v2a_pipeline import (
    V2AModelConfig,
    build_v2a_generator,
    from_pretrained,
    load_vocoder,
    save_v2a,
)
from avikit.models.generation.v2a_sampling import generate_autoregressive
from avikit.models.tokenizers.mel_codec import build_mel_codec
from avikit.models.tokenizers.vocoder import VocoderConfig, build_vocoder
from avikit.nn.dit import JointDiT
from avikit.nn.tokenizer import Tokenizer, bitrate
from avikit.nn.weights import save_pretrained
from avikit.train.generators import GenTrainConfig
from avikit.train.mel_codec import train_mel_codec
from avikit.train.v2a import export_v2a, train_v2a

TINY = V2AConfig(
    dim=32, depth=1, heads=2, n_mels=32, codebook_size=16, tokenizer="mel", token_stride=2, num_codebooks=3
)
VOCODER = VocoderConfig(n_mels=32, dim=16, depth=1, hidden=32)


def _tones(count: int = 6, seconds: float = 1.0) -> torch.Tensor:
    """Clips ``[N, 1, S]`` of a pure tone each, its pitch and loudness changing halfway."""
    t = torch.arange(int(16000 * seconds)) / 16000
    rows = []
    for i in range(count):
        half = (t < seconds / 2).float()
        low, high = 200.0 * (i + 1), 300.0 * (i + 2)
        rows.append(
            0.3 * half * torch.sin(2 * math.pi * low * t)
            + 0.1 * (1 - half) * torch.sin(2 * math.pi * high * t)
        )
    return torch.stack(rows)[:, None]


def test_mel_codec_is_a_tokenizer_with_its_rates():
    codec = build_mel_codec(TINY, VOCODER)
    assert isinstance(codec, Tokenizer)
    assert codec.frame_rate == 16000 / (250 * 2) and codec.num_codebooks == 3 and codec.cardinality == 16
    assert bitrate(codec) == pytest.approx(32 * 3 * 4)  # steps/s x codebooks x log2(16)
    codes = codec.encode(_tones(2))
    assert codes.shape == (2, 3, 32) and codes.dtype == torch.int64 and int(codes.max()) < 16
    with torch.no_grad():
        waveform = codec.decode(codes)
        mel = codec.decode_mel(codes)
        # decode is the vocoder on the decoded mel: one path, not two
        torch.testing.assert_close(waveform, codec.decoder.vocoder(mel).clamp(-1, 1))
    assert waveform.shape == (2, 1, 16000) and mel.shape == (2, 64, 32)


def test_mel_codec_checks_its_vocoder_and_stride():
    with pytest.raises(ValueError, match="another mel"):
        build_mel_codec(TINY, dataclasses.replace(VOCODER, n_mels=64))
    with pytest.raises(ValueError, match="must divide"):
        dataclasses.replace(TINY, token_stride=3)
    with pytest.raises(ValueError, match="token_stride must be 1"):
        V2AConfig(token_stride=2)
    with pytest.raises(ValueError, match="unknown tokenizer"):
        V2AConfig(tokenizer="text")
    with pytest.raises(ValueError, match="multiple of 2 mel frames"):
        build_mel_codec(TINY, VOCODER).encoder.from_mel(torch.zeros(1, 5, 32))


def test_mel_codec_learns_and_leaves_its_vocoder_untouched():
    torch.manual_seed(0)
    audio = _tones()
    codec = build_mel_codec(TINY, VOCODER)
    vocoder_before = {k: v.clone() for k, v in codec.decoder.vocoder.state_dict().items()}
    record = train_mel_codec(codec, audio, steps=120, batch_size=4, crop_seconds=0.5, learning_rate=3e-3)
    assert all(torch.equal(v, vocoder_before[k]) for k, v in codec.decoder.vocoder.state_dict().items())
    assert all(p.requires_grad for p in codec.decoder.vocoder.parameters())  # restored
    with torch.no_grad():
        mel = codec.encoder.features(audio)  # [N, 64, M]
        reconstruction = codec.decode_mel(codec.encode(audio))
    # better than the best constant code: the mean mel frame of the clips (closed form of the L1 optimum
    # is the median; the mean is the looser, common baseline)
    mean_frame = mel.mean(dim=(0, 1), keepdim=True).expand_as(mel)
    assert F.l1_loss(reconstruction, mel) < 0.5 * F.l1_loss(mean_frame, mel)
    assert record["loss_curve"][-1] < record["loss_curve"][0]


def test_token_noise_replaces_that_share_of_the_inputs():
    torch.manual_seed(0)
    net = build_token_v2a(TINY, causal=True)
    codes = torch.randint(0, 16, (16, 3, 32))  # 8 frames x 4 steps per frame
    frames = torch.rand(16, 8, 3, 32, 32)
    seen = []
    original = net.forward

    def spy(inputs, tokens, sync):
        seen.append(inputs)
        return original(inputs, tokens, sync)

    net.forward = spy  # type: ignore[method-assign]
    net.loss(codes, frames, 0.0, torch.Generator().manual_seed(0), token_noise=0.0)
    assert torch.equal(seen[-1], net.shift_right(codes))
    net.loss(codes, frames, 0.0, torch.Generator().manual_seed(0), token_noise=0.5)
    changed = (seen[-1][..., 1:] != codes[..., :-1]).float().mean()
    assert abs(float(changed) - 0.5 * 15 / 16) < 0.05  # a random id equals the true one 1 time in 16


def test_mel_token_generator_packages_and_loads_its_vocoder(tmp_path):
    torch.manual_seed(0)
    config = V2AModelConfig("maskgit", TINY, window_frames=8, num_steps=2, vocoder=VOCODER)
    model = build_v2a_generator(config)
    frames = (torch.rand(12, 40, 40, 3) * 255).to(torch.uint8).numpy()
    audio = model.generate(frames, seed=1)
    assert audio.shape == (12 * 2000,) and audio.dtype == "float32"
    folder = save_v2a(model, config, tmp_path / "pkg", half=False)
    loaded = from_pretrained(folder)
    assert (loaded.generate(frames, seed=1) == audio).all()
    vocoder, vocoder_config = load_vocoder(folder)
    assert vocoder_config == VOCODER
    for name, tensor in vocoder.state_dict().items():
        torch.testing.assert_close(tensor, model.codec.decoder.vocoder.state_dict()[name])
    standalone = build_vocoder(VOCODER)
    save_pretrained(standalone, VOCODER, tmp_path / "voc", "avikit.models.vocoder")
    assert load_vocoder(tmp_path / "voc")[1] == VOCODER
    with pytest.raises(ValueError, match="needs the vocoder"):
        build_v2a_generator(dataclasses.replace(config, vocoder=None))
    waveform_package = V2AModelConfig(
        "maskgit", V2AConfig(dim=32, depth=1, heads=2, n_mels=32, codebook_size=16)
    )
    folder = save_v2a(build_v2a_generator(waveform_package), waveform_package, tmp_path / "waveform")
    with pytest.raises(ValueError, match="carries no vocoder"):
        load_vocoder(folder)


def test_recipe_trains_mel_tokens_and_exports_them(tmp_path):
    config = GenTrainConfig(
        num_train=6,
        num_test=2,
        duration=1,
        steps=2,
        codec_steps=2,
        batch_size=2,
        progress=False,
        token_noise=0.2,
    )
    with pytest.raises(ValueError, match="trained vocoder"):
        train_v2a(config, TINY, tmp_path, ("maskgit",))
    vocoder = (build_vocoder(VOCODER).eval(), VOCODER)
    trained = train_v2a(config, TINY, tmp_path, ("autoregressive", "flow"), vocoder=vocoder)
    assert trained["codec"].frame_rate == 32.0
    folders = export_v2a(trained, tmp_path / "weights", TINY, retrieval_bank=0)
    ar, flow = from_pretrained(folders["v2a-ar"]), from_pretrained(folders["v2a-flow"])
    assert ar.paradigm == "autoregressive" and ar.network.steps_per_frame == 4
    assert flow.vocoder is not None  # the recipe's vocoder decodes the flow model's mel too
    pairs = load_pairs("test", 1, GenTrainConfig(duration=1))
    frames = (pairs["frames"][0].permute(0, 2, 3, 1) * 255).to(torch.uint8).numpy()
    assert ar.generate(frames).shape == (16000,)


def test_delay_pattern_round_trips_and_orders_the_codebooks_of_a_step():
    codes = torch.randint(0, 16, (2, 3, 10))
    delayed = delay_codes(codes, pad=16)
    assert delayed.shape == (2, 3, 12) and int((delayed == 16).sum()) == 2 * 3 * 2
    assert torch.equal(undelay_codes(delayed, 10), codes)
    torch.manual_seed(0)
    net = build_token_v2a(dataclasses.replace(TINY, token_delay=True), causal=True).eval()
    for parameter in net.parameters():  # adaLN-Zero starts as the identity: give every path a weight
        parameter.data.normal_(0, 0.05)  # small: attention must not saturate
    tokens, sync = net.condition(torch.rand(1, 8, 3, 32, 32))
    codes = torch.randint(0, 16, (1, 3, 32))

    def logits_of(c: torch.Tensor) -> torch.Tensor:  # prediction of codebook 2 at time 5 sits at 2 + 5
        with torch.no_grad():
            return net(net.shift_right(delay_codes(c, net.special)), tokens, sync)[0, 2, 7]

    base = logits_of(codes)
    for book, seen in ((0, True), (1, True), (2, False)):
        changed = codes.clone()
        changed[0, book, 5] = (changed[0, book, 5] + 1) % 16
        assert torch.equal(logits_of(changed), base) != seen, book  # causal: unseen codes change nothing
    later = codes.clone()
    later[0, 0, 6] = (later[0, 0, 6] + 1) % 16  # codebook 0 at time 6 is also known by then
    assert not torch.equal(logits_of(later), base)
    later[0, 0, 6], later[0, 0, 7] = codes[0, 0, 6], (codes[0, 0, 7] + 1) % 16  # time 7: not yet
    assert torch.equal(logits_of(later), base)
    sampled = generate_autoregressive(net, torch.rand(2, 8, 3, 32, 32), top_k=4)
    assert sampled.shape == (2, 3, 32) and int(sampled.max()) < 16 and int(sampled.min()) >= 0
    with pytest.raises(ValueError, match="causal"):
        TokenV2A(net.conditioner, JointDiT(32, 1, 2), 16, 3, 4, delay=True)
