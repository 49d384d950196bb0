"""Make a clip, save it as mp4, then load one window at 1 frame per second with 16 kHz mono audio.

Run: python examples/load_window.py [OUT_DIR]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

from avikit import media


def main(out: Path) -> None:
    """Write ``out/example.mp4`` and print what a windowed load returns."""
    fps, rate, seconds = 25, 44100, 6
    frames = np.zeros((fps * seconds, 120, 160, 3), np.uint8)
    frames[..., 0] = (np.arange(fps * seconds) * 2 % 256)[:, None, None]  # red level encodes time
    t = np.arange(rate * seconds) / rate
    waveform = np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 660 * t)]).astype(np.float32) * 0.3
    clip = media.AVClip(frames=frames, waveform=waveform, fps=fps, sample_rate=rate)
    path = media.save(clip, out / "example.mp4")
    print(media.probe(path))
    window = media.load(path, start=2.0, duration=3.0, fps=1, size=224, sample_rate=16000, channels=1)
    print(window)
    print("frame times (s):", window.frame_times().tolist())
    print("log-Mel:", tuple(media.log_mel(window.require_waveform(), 16000).shape))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp()))
