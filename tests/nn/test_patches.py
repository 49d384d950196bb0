import torch

from avikit.nn import patchify_frames, patchify_spectrogram, random_masking, unmask


def test_patchify_spectrogram_layout():
    mel = torch.arange(2 * 3 * 8, dtype=torch.float32).view(2, 3, 8)
    patches = patchify_spectrogram(mel, 4)
    assert patches.shape == (2, 2, 12)
    assert torch.equal(patches[1, 1].view(3, 4), mel[1, :, 4:8])


def test_patchify_frames_matches_a_strided_conv_grid():
    frames = torch.rand(1, 2, 3, 8, 8)
    patches = patchify_frames(frames, 4)  # [1, 2, 4, 48]
    assert patches.shape == (1, 2, 4, 48)
    # patch 1 = row 0, col 1; pixels ordered (row, col, channel)
    assert torch.equal(patches[0, 1, 1].view(4, 4, 3), frames[0, 1, :, 0:4, 4:8].permute(1, 2, 0))


def test_random_masking_keeps_the_same_count_per_row_and_round_trips():
    x = torch.randn(2, 5, 10, 3)
    g = torch.Generator().manual_seed(0)
    visible, mask, restore = random_masking(x, 0.7, g)
    assert visible.shape == (2, 5, 3, 3)
    assert (mask.sum(-1) == 7).all()
    filled = unmask(visible, restore, torch.full((3,), -1.0))
    assert torch.equal(filled[~mask], x[~mask])
    assert (filled[mask] == -1.0).all()


def test_random_masking_is_seeded():
    x = torch.randn(4, 16, 2)
    m1 = random_masking(x, 0.5, torch.Generator().manual_seed(3))[1]
    m2 = random_masking(x, 0.5, torch.Generator().manual_seed(3))[1]
    assert torch.equal(m1, m2)
