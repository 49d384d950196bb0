"""Video-to-audio: shapes of the three sampling loops, learning on a tiny batch, guidance and the recipe."""

from __future__ import annotations

import pytest
import torch

from avikit.models.generation.clips import load_pairs
from avikit.models.generation.judges import sync_logits
from avikit.models.generation.v2a_network import (
    V2AConfig,
    build_flow_v2a,
    build_token_v2a,
    build_v2a_codec,
    griffin_lim,
)
from avikit.models.generation.v2a_pipeline import from_pretrained
from avikit.models.generation.v2a_sampling import generate_autoregressive, generate_flow, generate_maskgit
from avikit.nn.schedulers import FlowMatchingScheduler
from avikit.train.generators import GenTrainConfig
from avikit.train.v2a import evaluate_v2a, export_v2a, train_v2a

TINY = V2AConfig(dim=32, depth=1, heads=2, n_mels=32, codebook_size=16)


@pytest.fixture(scope="module")
def pairs():
    return load_pairs("train", 4, GenTrainConfig(duration=1))


def test_generators_return_the_right_shapes(pairs):
    torch.manual_seed(0)
    frames = pairs["frames"][:2]  # [2, 8, 3, 32, 32]: 1 s at 8 fps
    flow = build_flow_v2a(TINY)
    mel = generate_flow(flow, frames, num_steps=2, scheduler=FlowMatchingScheduler("heun"))
    assert mel.shape == (2, 64, 32)
    assert griffin_lim(flow.features, mel, iterations=2).shape == (2, 1, 16000)
    for causal, sample in ((True, generate_autoregressive), (False, generate_maskgit)):
        codes = sample(build_token_v2a(TINY, causal), frames)
        assert codes.shape == (2, 2, 64) and int(codes.max()) < 16 and int(codes.min()) >= 0
    assert build_v2a_codec(TINY).decode(codes).shape == (2, 1, 16000)


def test_sampling_is_seeded(pairs):
    flow = build_flow_v2a(TINY)
    a, b = (
        generate_flow(flow, pairs["frames"][:1], 2, generator=torch.Generator().manual_seed(3)) for _ in "ab"
    )
    assert torch.equal(a, b)


def _overfit(loss_fn, model, steps: int = 25) -> tuple[float, float]:
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(steps):
        loss = loss_fn()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    return sum(losses[:3]) / 3, sum(losses[-3:]) / 3


def test_each_paradigm_learns_a_tiny_batch(pairs):
    torch.manual_seed(0)
    audio, frames = pairs["audio"], pairs["frames"]
    flow, scheduler, generator = (
        build_flow_v2a(TINY),
        FlowMatchingScheduler(),
        torch.Generator().manual_seed(0),
    )
    first, last = _overfit(lambda: flow.loss(audio, frames, scheduler, 0.0, generator), flow)
    assert last < 0.8 * first
    codes = build_v2a_codec(TINY).encode(audio)
    for causal in (True, False):
        net = build_token_v2a(TINY, causal)
        first, last = _overfit(lambda net=net: net.loss(codes, frames, 0.0), net)
        assert last < 0.8 * first


def test_sync_scorer_finds_zero_offset_on_real_pairs_more_often_than_on_shifted():
    data = load_pairs("test", 12, GenTrainConfig(duration=2))
    true = sync_logits(data["audio"], data["frames"])[:, 0].argmax(1)
    shifted = sync_logits(torch.roll(data["audio"], 4000, dims=-1), data["frames"])[:, 0].argmax(1)
    assert (true == 3).sum() > (shifted == 3).sum()


def test_tiny_recipe_trains_and_scores(tmp_path):
    config = GenTrainConfig(
        num_train=8, num_test=3, duration=1, steps=3, codec_steps=3, batch_size=2, progress=False
    )
    trained = train_v2a(config, TINY, tmp_path)
    assert set(trained["models"]) == {"flow", "autoregressive", "maskgit"}
    assert (tmp_path / "flow_loss.svg").exists() and (tmp_path / "codec_loss.jsonl").exists()
    results = evaluate_v2a(trained)
    assert set(results) == {"flow", "autoregressive", "maskgit", "retrieval", "reference"}
    assert results["reference"]["mel_distance"] == 0.0 and results["flow"]["rtf"] > 0
    folders = export_v2a(trained, tmp_path / "weights", TINY, retrieval_bank=0)
    assert set(folders) == {"v2a", "v2a-ar", "v2a-flow"}
    guided = export_v2a(trained, tmp_path / "guided", TINY, retrieval_bank=0, guidance=3.0)
    assert [from_pretrained(folder).guidance for folder in guided.values()] == [3.0] * 3
    packaged = from_pretrained(folders["v2a"])
    assert packaged.paradigm == "maskgit" and packaged.window_frames == 8  # the 1 s training clips
    state = trained["models"]["maskgit"].state_dict()
    for name, tensor in packaged.network.state_dict().items():
        torch.testing.assert_close(
            tensor, state[name].half().float() if tensor.is_floating_point() else state[name]
        )
