"""Training the learned navigation policy: a tiny DAgger run finishes, saves loadable weights and learns."""

from __future__ import annotations

import numpy as np
import torch

from avikit.envs import NavBatch, sample_episode
from avikit.models.policies.learned import PolicyConfig, build_policy_network, from_pretrained
from avikit.train.nav_policy import NavTrainConfig, collect_round, fit_imitation, train_nav_policy


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


def test_imitation_fits_the_experts_actions() -> None:
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(0)
    network = build_policy_network(PolicyConfig(hidden=32, embed=32))
    data = [collect_round("audiogoal", network, 1.0, 0, 16, np.random.default_rng(0))]
    features, labels, masks = data[0]
    optimizer = torch.optim.AdamW(network.parameters(), lr=3e-3)
    cfg = NavTrainConfig(epochs=1, batch_episodes=16)
    first = fit_imitation(network, data, cfg, optimizer, gen)
    for _ in range(40):
        last = fit_imitation(network, data, cfg, optimizer, gen)
    with torch.no_grad():
        predicted = network(torch.from_numpy(features), None)[0].argmax(-1).numpy()
    accuracy = (predicted == labels)[masks].mean()
    majority = np.bincount(labels[masks]).max() / masks.sum()
    assert last < 0.7 * first and accuracy > majority + 0.1


def test_a_tiny_run_saves_weights_that_load(tmp_path) -> None:
    torch.set_num_threads(1)
    cfg = NavTrainConfig(rounds=2, num_envs=4, epochs=1, val_episodes=4, hidden=16)
    summary = train_nav_policy("audiogoal", tmp_path / "policy", cfg)
    assert [r["round"] for r in summary["rounds"]] == [0, 1] and summary["rounds"][0]["beta"] == 1.0
    policy = from_pretrained(tmp_path / "policy")
    assert policy.network.gru.hidden_size == 16 and (tmp_path / "policy" / "training.json").is_file()
