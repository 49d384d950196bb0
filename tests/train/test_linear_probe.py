"""Tests of the linear probes: the fit is multinomial logistic regression, the model is one linear map."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from avikit.models.encoders.trunk_encoding import encode_items
from avikit.models.perception.linear_probe import (
    PROBE_TASKS,
    LinearProbeModel,
    load_linear_probe,
    pooled_features,
)
from avikit.train.linear_probe import fit_contrastive, fit_logistic
from avikit.train.recipes import tiny_recipe, train_recipe
from tests.model_fixtures import check_model, make_items


def _toy(n=90, f=4, k=3, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, f)) * 1.5
    y = np.arange(n) % k
    x = (
        centres[y]
        + rng.normal(size=(n, f)) * np.array([1.0, 3.0, 0.5, 2.0])[:f]
        + np.array([5, -2, 0, 1])[:f]
    )
    return x.astype(np.float64), y


def test_fit_logistic_equals_sklearn_multinomial_on_standardised_features():
    linear_model = pytest.importorskip("sklearn.linear_model")
    x, y = _toy()
    l2 = 0.05
    layer = fit_logistic(torch.tensor(x, dtype=torch.float32), torch.tensor(y), 3, l2, max_iter=500)
    mean, std = x.mean(0), x.std(0, ddof=1)
    # ours: mean cross-entropy + l2/2 |W|^2 on (x - mean) / std  ==  sklearn: C * sum CE + 1/2 |W|^2, C = 1/(N l2)
    reference = linear_model.LogisticRegression(C=1 / (len(x) * l2), tol=1e-10, max_iter=10_000)
    reference.fit((x - mean) / std, y)
    np.testing.assert_allclose(layer.weight.numpy(), reference.coef_ / std, atol=2e-4)
    z = torch.tensor(x, dtype=torch.float32)
    ours = layer(z).softmax(-1).detach().numpy()
    np.testing.assert_allclose(ours, reference.predict_proba((x - mean) / std), atol=1e-4)


def test_fit_logistic_is_stationary_and_exactly_linear():
    x, y = _toy(seed=1)
    z, labels = torch.tensor(x, dtype=torch.float32), torch.tensor(y)
    l2 = 0.01
    layer = fit_logistic(z, labels, 3, l2, max_iter=500)
    # KKT: the gradient of the objective (in the standardised frame) vanishes at the returned weights
    mean, std = z.mean(0), z.std(0)
    w_std = (layer.weight * std).detach().requires_grad_(True)
    b_std = (layer.bias + layer.weight @ mean).detach().requires_grad_(True)
    objective = F.cross_entropy((z - mean) / std @ w_std.T + b_std, labels) + 0.5 * l2 * w_std.square().sum()
    objective.backward()
    assert w_std.grad.abs().max() < 1e-4 and b_std.grad.abs().max() < 1e-4
    # the probe is the affine map x -> W x + b, nothing else
    expected = x @ layer.weight.detach().double().numpy().T + layer.bias.detach().double().numpy()
    np.testing.assert_allclose(layer(z).detach().numpy(), expected, rtol=1e-5, atol=1e-4)


def test_fit_contrastive_pairs_matching_clips():
    torch.manual_seed(0)
    latent = torch.randn(40, 3)
    audio = latent @ torch.randn(3, 6) + 0.05 * torch.randn(40, 6)
    video = latent @ torch.randn(3, 5) + 0.05 * torch.randn(40, 5)
    a_map, v_map = fit_contrastive(audio, video, dim=4, temperature=0.1, l2=1e-3, max_iter=50)
    sim = F.normalize(a_map(audio), dim=-1) @ F.normalize(v_map(video), dim=-1).T
    assert (sim.argmax(1) == torch.arange(40)).float().mean() > 0.8
    assert a_map.weight.shape == (4, 6) and v_map.weight.shape == (4, 5)


def test_pooled_features_layout_and_unknown_task():
    features = {k: torch.randn(2, 10, 8) for k in ("audio_segments", "visual_segments")}
    features |= {k: torch.randn(2, 10, 8) for k in ("joint_audio", "joint_visual")}
    assert pooled_features("avel", features)[0].shape == (2, 10, 32)
    assert torch.equal(
        pooled_features("classification", features)[0], pooled_features("avel", features)[0].mean(1)
    )
    audio, video = pooled_features("retrieval", features)
    assert torch.equal(audio, features["audio_segments"].mean(1)) and video.shape == (2, 8)
    with pytest.raises(ValueError, match="probes exist for"):
        pooled_features("sync", features)


def test_tiny_probes_train_reload_and_predict(tiny_encoder, feature_cache, tmp_path):
    for task in PROBE_TASKS:  # one test: the three probes share the cached features of the avel inputs
        recipe = tiny_recipe(f"{task}-linear-probe", tiny_encoder)
        result = train_recipe(f"{task}-linear-probe", tmp_path / task, recipe, show_progress=False)
        assert result.metrics["l2"] in recipe.l2_grid and set(result.metrics["val_score_by_l2"]) == {
            "0.01",
            "1",
        }
        model = load_linear_probe(tmp_path / task)
        assert isinstance(model, LinearProbeModel) and model.id == f"avikit/{task}-linear-probe"
        assert all(isinstance(layer, torch.nn.Linear) for layer in model.head)
        check_model(model, [task], count=1)
        # the model's outputs are the saved linear map of the pooled frozen features
        features = encode_items(model.encoder, make_items(task, 2), 10)
        outputs = model.logits(features)
        for layer, x, out in zip(model.head, pooled_features(task, features), outputs, strict=True):
            torch.testing.assert_close(out, x @ layer.weight.T + layer.bias)
