"""Vector quantization: EMA updates, dead-code restart, straight-through gradients, RVQ error and usage."""

from __future__ import annotations

import pytest
import torch

from avikit.nn.quantize import VectorQuantizer, build_rvq, codebook_usage


def _clusters(seed: int = 0, count: int = 512) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    centres = torch.randn(8, 4, generator=generator) * 3
    points = centres[torch.randint(0, 8, (count,), generator=generator)]
    points = points + 0.3 * torch.randn(count, 4, generator=generator)
    return points.T.reshape(1, 4, count)  # [1, D, T]


def test_ema_update_moves_codewords_toward_assigned_vectors():
    torch.manual_seed(0)
    quantizer = VectorQuantizer(4, 16, decay=0.9)
    data = _clusters()
    quantizer.train()
    quantizer(data)  # data init
    before = quantizer.codebook.clone()
    errors = []
    for _ in range(30):
        _, _, commitment = quantizer(data)
        errors.append(float(commitment))
    assert not torch.equal(before, quantizer.codebook)
    assert errors[-1] < errors[0]
    assert abs(float(quantizer.cluster_size.sum()) - data.shape[-1]) < 0.1 * data.shape[-1]
    frozen = quantizer.codebook.clone()
    quantizer.eval()
    quantizer(data)
    assert torch.equal(frozen, quantizer.codebook)


def test_dead_codes_are_restarted_on_batch_vectors():
    torch.manual_seed(1)
    quantizer = VectorQuantizer(4, 8, decay=0.5, dead_threshold=0.5)
    quantizer.train()
    data = _clusters()
    quantizer(data)
    quantizer.codebook[3] = 1e6  # unreachable codeword
    quantizer.embed_sum[3] = 1e6
    for _ in range(3):
        quantizer(data)
    assert float(quantizer.codebook[3].abs().max()) < 100


def test_straight_through_gradients_reach_the_input():
    quantizer = VectorQuantizer(4, 16)
    quantizer.eval()
    x = torch.randn(2, 4, 10, requires_grad=True)
    quantized, codes, commitment = quantizer(x)
    (quantized.sum() + commitment).backward()
    assert x.grad is not None and codes.shape == (2, 10)
    assert torch.allclose(x.grad - 2 * (x - quantizer.decode(codes)).detach() / x.numel(), torch.ones_like(x))


def test_rvq_error_decreases_with_more_codebooks():
    torch.manual_seed(2)
    rvq = build_rvq(4, 16, 4)
    rvq.train()
    data = torch.randn(1, 4, 1024)
    for _ in range(20):
        rvq(data)
    rvq.eval()
    errors = [float(((rvq.decode(rvq.encode(data, q)) - data) ** 2).mean()) for q in range(1, 5)]
    assert errors == sorted(errors, reverse=True) and errors[-1] < 0.5 * errors[0]
    quantized, codes, _ = rvq(data, num_codebooks=2)
    # the same float32 codewords summed (2 codebooks): ~1e-7
    assert codes.shape == (1, 2, 1024) and torch.allclose(quantized, rvq.decode(codes), atol=1e-5)


def test_codebook_usage_and_perplexity():
    uniform = torch.arange(16).repeat(4).view(1, 1, 64)
    stats = codebook_usage(uniform, 16)
    assert stats["usage"] == 1.0 and abs(stats["perplexity"] - 16) < 1e-9
    single = torch.zeros(1, 2, 50, dtype=torch.long)
    stats = codebook_usage(single, 16)
    assert stats["usage"] == 1 / 16 and abs(stats["perplexity"] - 1) < 1e-9


def test_one_ema_step_matches_the_closed_form():
    decay, eps = 0.8, 1e-5
    quantizer = VectorQuantizer(2, 4, decay=decay, eps=eps, dead_threshold=0.0)
    quantizer.train()
    quantizer.initialized.fill_(True)
    codebook = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [5.0, 5.0]])
    quantizer.codebook.copy_(codebook)
    quantizer.embed_sum.copy_(codebook * 2)
    quantizer.cluster_size.copy_(torch.tensor([2.0, 3.0, 1.0, 0.5]))
    points = torch.tensor([[0.1, 0.1], [0.9, 0.2], [1.1, -0.1], [0.2, 0.8], [-0.2, 0.1]])  # [N, D]
    nearest = torch.cdist(points, codebook).argmin(1)  # brute force: 0, 1, 1, 2, 0
    counts = torch.bincount(nearest, minlength=4).float()
    sums = torch.zeros(4, 2).index_add_(0, nearest, points)
    size = decay * torch.tensor([2.0, 3.0, 1.0, 0.5]) + (1 - decay) * counts
    embed = decay * codebook * 2 + (1 - decay) * sums
    smoothed = (size + eps) / (size.sum() + 4 * eps) * size.sum()
    _, codes, _ = quantizer(points.T[None])  # [1, D, N]: the update, then codes of the updated codebook
    assert torch.allclose(quantizer.cluster_size, size)
    assert torch.allclose(quantizer.embed_sum, embed)
    assert torch.allclose(quantizer.codebook, embed / smoothed[:, None])
    assert torch.equal(codes[0], torch.cdist(points, embed / smoothed[:, None]).argmin(1))


def test_uniform_data_reaches_the_optimal_scalar_quantizer():
    # K levels on U[0, 1]: the optimal (Lloyd-Max) codewords are (i + 1/2) / K with error 1 / (12 K^2)
    size, optimal = 8, 1 / (12 * 8**2)
    grid = ((torch.arange(size) + 0.5) / size)[:, None]
    torch.manual_seed(0)
    quantizer = VectorQuantizer(1, size, decay=0.9)
    quantizer.train()
    for _ in range(300):  # from a data initialisation
        quantizer(torch.rand(1, 1, 2048))
    quantizer.eval()
    _, _, error = quantizer(torch.rand(1, 1, 20000))
    assert optimal <= float(error) < 1.1 * optimal
    fixed = VectorQuantizer(1, size, decay=0.9)  # the optimum is a fixed point of the EMA update
    fixed.train()
    fixed.initialized.fill_(True)
    fixed.codebook.copy_(grid)
    fixed.cluster_size.fill_(2048 / size)
    fixed.embed_sum.copy_(grid * 2048 / size)
    for _ in range(50):
        fixed(torch.rand(1, 1, 2048))
    # seeded EMA noise: batch cell means vary by (1/8)/sqrt(12*256) = 2.3e-3, decay 0.9 shrinks it to ~5e-4
    assert torch.allclose(fixed.codebook, grid, atol=0.01)


def test_usage_and_perplexity_match_the_entropy_of_the_histogram():
    codes = torch.tensor([0] * 4 + [1] * 2 + [2] + [3]).view(1, 1, 8)  # p = 1/2, 1/4, 1/8, 1/8
    stats = codebook_usage(codes, 8)
    assert stats["usage"] == 0.5
    assert abs(stats["perplexity"] - 2**1.75) < 1e-9  # entropy 1.75 bits
    assert abs(stats["perplexity_fraction"] - 2**1.75 / 8) < 1e-9


def test_rvq_codes_at_fewer_books_are_a_prefix_and_bad_counts_fail():
    torch.manual_seed(3)
    rvq = build_rvq(4, 16, 3)
    rvq.train()
    data = torch.randn(2, 4, 64)
    rvq(data)
    rvq.eval()
    full = rvq.encode(data)
    assert torch.equal(rvq.encode(data, 2), full[:, :2])
    residual = data - rvq.decode(full[:, :1])  # stage 2 quantizes the first stage's residual
    assert torch.equal(full[:, 1], rvq.layers[1].encode(residual))
    for bad in (0, 4):
        with pytest.raises(ValueError, match="num_codebooks"):
            rvq.encode(data, bad)
