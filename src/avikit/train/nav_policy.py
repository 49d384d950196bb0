"""Train the learned navigation policy by imitation of the shortest-path expert, with DAgger.

Each round plays ``num_envs`` new ``train`` episodes; at every step the acting policy is the expert with
probability ``beta`` (1 in the first round, falling linearly to 0 by half the rounds) and the learner
otherwise, and the expert's action is recorded as the label of what the learner saw (Ross et al. 2011,
"A Reduction of Imitation Learning and Structured Prediction to No-Regret Online Learning"). The learner
(:mod:`avikit.models.policies.learned`) is then fitted on the last ``keep_rounds`` rounds of whole episodes
(cross-entropy over the steps before each episode's end). Seeded; the best round on ``val`` episodes (by
SPL) is the one saved.

Example:
    >>> import tempfile
    >>> cfg = NavTrainConfig(rounds=1, num_envs=2, epochs=1, val_episodes=2, hidden=8)
    >>> result = train_nav_policy("audiogoal", tempfile.mkdtemp(), cfg)
    >>> len(result["rounds"]), sorted(result["best_round"])[:2]
    (1, ['beta', 'distance_to_goal'])
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from avikit.envs import NavBatch, get_nav_task, sample_episode
from avikit.metrics.navigation import evaluate_navigation
from avikit.models.policies.learned import (
    KIND,
    LearnedPolicy,
    PolicyConfig,
    PolicyNetwork,
    build_policy_network,
    observation_features,
)
from avikit.nn import save_pretrained, seed_everything

__all__ = ["NavTrainConfig", "collect_round", "fit_imitation", "train_nav_policy"]


@dataclass(frozen=True)
class NavTrainConfig:
    """The DAgger schedule."""

    rounds: int = 30
    num_envs: int = 64
    epochs: int = 3
    batch_episodes: int = 32
    keep_rounds: int = 15
    lr: float = 2e-3
    hidden: int = 96
    val_episodes: int = 50
    seed: int = 0


def collect_round(
    task: str, learner: PolicyNetwork, beta: float, first_index: int, count: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Play ``count`` train episodes; features ``[T, B, F]``, expert labels ``[T, B]`` and mask ``[T, B]``."""
    nav = get_nav_task(task)
    sim = NavBatch(task, count)
    for slot in range(count):
        episode = sample_episode(
            task, "train", first_index + slot, 0, nav.room, nav.max_steps, nav.move_every
        )
        sim.load(slot, episode)
    features, labels, masks = [], [], []
    alive = np.ones(count, dtype=bool)
    previous = np.full(count, -1, dtype=np.int64)
    state: torch.Tensor | None = None
    with torch.no_grad():
        for _ in range(nav.max_steps):
            x = observation_features(sim.observe(), previous)
            expert = sim.oracle()
            logits, state = learner(torch.from_numpy(x)[None], state)
            own = logits[0].argmax(-1).numpy()
            action = np.where(rng.random(count) < beta, expert, own)
            action = np.where(alive, action, 1)
            features.append(x)
            labels.append(expert)
            masks.append(alive.copy())
            _, terminated, truncated = sim.step(action)
            previous = action
            alive &= ~(terminated | truncated)
            if not alive.any():
                break
    return np.stack(features), np.stack(labels), np.stack(masks)


def fit_imitation(
    network: PolicyNetwork,
    data: list[tuple[np.ndarray, ...]],
    cfg: NavTrainConfig,
    optimizer: torch.optim.Optimizer,
    gen: torch.Generator,
) -> float:
    """A few epochs of sequence cross-entropy over whole episodes; returns the last epoch's mean loss."""
    episodes = [(f[:, b], y[:, b], m[:, b]) for f, y, m in data for b in range(f.shape[1])]
    network.train()
    losses: list[float] = []
    for _ in range(cfg.epochs):
        losses = []
        order = torch.randperm(len(episodes), generator=gen).tolist()
        for start in range(0, len(order), cfg.batch_episodes):
            chunk = [episodes[i] for i in order[start : start + cfg.batch_episodes]]
            length = max(len(c[0]) for c in chunk)
            x = torch.zeros(length, len(chunk), chunk[0][0].shape[-1])
            y = torch.zeros(length, len(chunk), dtype=torch.long)
            m = torch.zeros(length, len(chunk))
            for j, (f, lab, mask) in enumerate(chunk):
                x[: len(f), j], y[: len(f), j], m[: len(f), j] = (
                    torch.from_numpy(f),
                    torch.from_numpy(lab),
                    torch.from_numpy(mask.astype(np.float32)),
                )
            logits, _ = network(x, None)
            loss = (
                nn.functional.cross_entropy(logits.flatten(0, 1), y.flatten(), reduction="none") * m.flatten()
            ).sum() / m.sum()
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(network.parameters(), 1.0)
            optimizer.step()
            losses.append(float(loss.detach()))
    network.eval()
    return float(np.mean(losses))


def _validate(task: str, network: PolicyNetwork, episodes: int) -> dict[str, float]:
    from avikit.envs.gym import AVNavVectorEnv  # the gymnasium wrapper, as the evaluation uses it

    env = AVNavVectorEnv(task, min(episodes, 50), "val", 0)
    obs, info = env.reset(seed=0)
    policy = LearnedPolicy(network, "learner")
    first, ended = np.ones(env.num_envs, bool), np.zeros(env.num_envs, bool)
    outcomes: dict[int, dict[str, float]] = {}
    while len(outcomes) < episodes:
        obs, _, terminated, truncated, info = env.step(policy.act(obs, info, first))
        first, ended = ended, terminated | truncated
        for slot in np.flatnonzero(ended):
            if info["episode"][slot] < episodes:
                outcomes[int(info["episode"][slot])] = info["outcome"][slot]
    return evaluate_navigation(list(outcomes.values()), get_nav_task(task).room.cell_m)


def train_nav_policy(task: str, out: str | Path, cfg: NavTrainConfig | None = None) -> dict[str, Any]:
    """Train the policy of ``task`` and save the best round (val SPL) to ``out`` with its training log."""
    cfg = cfg or NavTrainConfig()
    gen = seed_everything(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    model_cfg = PolicyConfig(hidden=cfg.hidden, embed=cfg.hidden)
    network = build_policy_network(model_cfg)
    optimizer = torch.optim.AdamW(network.parameters(), lr=cfg.lr, weight_decay=1e-4)
    data: list[tuple[np.ndarray, ...]] = []
    log, best, best_state = [], -1.0, None
    begin = time.perf_counter()
    for round_ in range(cfg.rounds):
        beta = max(0.0, 1.0 - round_ / max(1.0, cfg.rounds / 2))
        data.append(collect_round(task, network, beta, round_ * cfg.num_envs, cfg.num_envs, rng))
        data = data[-cfg.keep_rounds :]
        loss = fit_imitation(network, data, cfg, optimizer, gen)
        val = _validate(task, network, cfg.val_episodes)
        log.append(
            {
                "round": round_,
                "beta": beta,
                "loss": loss,
                **val,
                "seconds": round(time.perf_counter() - begin, 1),
            }
        )
        if val["spl"] > best:
            best, best_state = val["spl"], {k: v.clone() for k, v in network.state_dict().items()}
    if best_state is not None:
        network.load_state_dict(best_state)
    folder = save_pretrained(network, model_cfg, out, kind=KIND)
    summary = {
        "task": task,
        "config": asdict(cfg),
        "rounds": log,
        "best_round": max(log, key=lambda r: r["spl"]),
        "seconds": round(time.perf_counter() - begin, 1),
        "folder": str(folder),
    }
    (Path(folder) / "training.json").write_text(json.dumps(summary, indent=1))
    return summary
