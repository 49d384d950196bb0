"""Training the learned navigation policy: a tiny DAgger run finishes, saves loadable weights and learns."""

from __future__ import annotations

import numpy as np
import torch

from avikit.envs import NavBatch, sample_episode
from avikit.models.policies.learned import build_policy_network, from_pretrained, PolicyConfig
from avikit.train.nav_policy import NavTrainConfig, collect_round, train_nav_policy


def test_collect_round_labels_every_live_step_with_the_expert() -> None:
    network = build_policy_network(PolicyConfig(hidden=8, embed=8))
    features, labels, masks = collect_round("audiogoal", network, 1.0, 0, 3, np.random.default_rng(0))
    assert features.shape[:2] == labels.shape == masks.shape and features.shape[1] == 3
    # acting as the expert (beta = 1), every episode ends with the expert's stop
    for b in range(3):
        last = int(np.flatnonzero(masks[:, b])[-1])
        assert labels[last, b] == 0
    sim = NavBatch("audiogoal", 1)
    sim.load(0, sample_episode("audiogoal", "train", 0))
    assert labels[0, 0] == sim.oracle()[0]


def test_a_tiny_run_saves_weights_that_load_and_reduce_the_loss(tmp_path) -> None:
    torch.set_num_threads(1)
    cfg = NavTrainConfig(rounds=3, num_envs=8, epochs=3, val_episodes=4, hidden=16)
    summary = train_nav_policy("audiogoal", tmp_path / "policy", cfg)
    losses = [r["loss"] for r in summary["rounds"]]
    assert losses[-1] < losses[0]
    policy = from_pretrained(tmp_path / "policy")
    assert policy.network.gru.hidden_size == 16 and (tmp_path / "policy" / "training.json").is_file()
