"""Vector quantization: EMA updates, dead-code restart, straight-through gradients, RVQ error and usage."""

from __future__ import annotations

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
    assert codes.shape == (1, 2, 1024) and torch.allclose(quantized, rvq.decode(codes), atol=1e-5)


def test_codebook_usage_and_perplexity():
    uniform = torch.arange(16).repeat(4).view(1, 1, 64)
    stats = codebook_usage(uniform, 16)
    assert stats["usage"] == 1.0 and abs(stats["perplexity"] - 16) < 1e-9
    single = torch.zeros(1, 2, 50, dtype=torch.long)
    stats = codebook_usage(single, 16)
    assert stats["usage"] == 1 / 16 and abs(stats["perplexity"] - 1) < 1e-9
