"""Media-loading benchmark: avikit.media.load against decord, torchcodec and a PyAV decode-only floor.

Workloads (issue 2, "Performance"):

- AV clips: 20 files of 10 s per source size (224x224 and 640x360), each loaded as frames at 1 or 8 fps
  resized to 224x224 RGB plus the whole audio track at 16 kHz mono; clips/s in one process and with
  2 torch DataLoader worker processes (``batch_size=None``, persistent workers).
- Random access: 100 random 1 s windows of a 60 s 640x360 file (frames at the source rate and size plus
  16 kHz mono audio); windows/s in one process.
- log-Mel of 10 s at 16 kHz (128 mels, n_fft 400, hop 160): ms per clip, avikit against librosa.
- Packed layout (``--only packed``): the same clips re-encoded by ``avikit data pack``'s transform (224x224,
  a keyframe every second, CRF 18, 16 kHz mono WAV sidecar), loaded at 1 fps as 224x224 RGB plus the audio,
  side by side in one run with the current loader on the original files and with the peers on both, in one
  process and with 2 DataLoader workers, one clip per item and in batches of ``--batch-size`` clips
  (``default_collate``: one shared-memory tensor per field and batch), every loader with the same
  DataLoader; the CPU seconds per clip of each loader's timed epochs, this process and its workers
  together; bytes on disk before and after, the packed frames' PSNR against the original loaded at
  224x224, and the load average of the machine before and after every column.

Every number is the median of several epochs after a warm-up epoch; the loaders of one workload take
turns epoch by epoch, so slow drifts of the machine hit all of them alike. Peers are optional: a peer
that is not installed is reported as missing. See benchmarks/README.md for set-up.

Usage::

    .venv/bin/python benchmarks/media_load.py            # full run (about 15 minutes on 2 cores)
    .venv/bin/python benchmarks/media_load.py --quick    # short run
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shlex
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, default_collate

from avikit.media.load import MediaReader
from avikit.media.load import load as avikit_load
from avikit.media.repack import RepackSpec, repack

HERE = Path(__file__).resolve().parent
FPS = 25
GOP = 2 * FPS
CRF = 23
AUDIO_RATE = 44100
OUT_SIZE = 224
OUT_RATE = 16000


# ----------------------------------------------------------------------------------------------------------
# Test media
# ----------------------------------------------------------------------------------------------------------


def _frame(t: int, width: int, height: int, rng: np.random.Generator, phase: float) -> np.ndarray:
    """A frame with scrolling colour bands, two moving boxes and per-frame grain."""
    x = np.arange(width, dtype=np.float32)[None, :]
    y = np.arange(height, dtype=np.float32)[:, None]
    s = t / FPS + phase
    r = 128 + 100 * np.sin(2 * np.pi * (x / width * 2 + s * 0.5))
    g = 128 + 100 * np.sin(2 * np.pi * (y / height * 1.5 - s * 0.3))
    b = 128 + 100 * np.sin(2 * np.pi * ((x + y) / (width + height) * 3 + s * 0.7))
    img = np.stack(np.broadcast_arrays(r, g, b), axis=-1)
    for k, (speed, color) in enumerate(((90.0, (250, 250, 30)), (-60.0, (20, 40, 230)))):
        size = max(8, min(width, height) // 5)
        cx = int((width / 2 + speed * s + k * width / 3) % (width - size))
        cy = int((height / 2 + 0.6 * speed * np.sin(s + k)) % (height - size))
        img[cy : cy + size, cx : cx + size] = color
    img += rng.normal(0.0, 5.0, img.shape[:2])[..., None]
    return np.clip(img, 0, 255).astype(np.uint8)


def _audio(seconds: float, rng: np.random.Generator, phase: float) -> np.ndarray:
    """Stereo tones with a slow glide plus a little noise, float32 [2, N]."""
    n = round(seconds * AUDIO_RATE)
    t = np.arange(n) / AUDIO_RATE
    f = 220 * (1 + phase) + 80 * np.sin(2 * np.pi * 0.2 * t)
    left = 0.3 * np.sin(2 * np.pi * np.cumsum(f) / AUDIO_RATE)
    right = 0.2 * np.sin(2 * np.pi * 660 * t + phase) * (0.5 + 0.5 * np.sin(2 * np.pi * 0.5 * t))
    wave = np.stack([left, right]) + 0.02 * rng.standard_normal((2, n))
    return wave.astype(np.float32)


def write_media(path: Path, width: int, height: int, seconds: int, seed: int) -> None:
    """Write H.264 (CRF 23, GOP 2 s, 25 fps, yuv420p) + AAC-LC stereo 44.1 kHz into an mp4."""
    rng = np.random.default_rng(seed)
    phase = seed * 0.37
    partial = path.with_name(f".{path.name}.partial.mp4")
    with av.open(str(partial), mode="w") as out:
        vs = out.add_stream("libx264", rate=FPS)
        vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
        vs.options = {"crf": str(CRF), "g": str(GOP), "keyint_min": str(GOP), "preset": "medium"}
        as_ = out.add_stream("aac", rate=AUDIO_RATE)
        as_.layout = "stereo"
        as_.bit_rate = 128_000
        for i in range(seconds * FPS):
            frame = av.VideoFrame.from_ndarray(_frame(i, width, height, rng, phase), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, FPS)
            out.mux(vs.encode(frame.reformat(format="yuv420p")))
        out.mux(vs.encode(None))
        wave = _audio(seconds, rng, phase)
        for s in range(0, wave.shape[1], 1024):
            chunk = np.ascontiguousarray(wave[:, s : s + 1024])
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
            frame.sample_rate, frame.pts, frame.time_base = AUDIO_RATE, s, Fraction(1, AUDIO_RATE)
            out.mux(as_.encode(frame))
        out.mux(as_.encode(None))
    os.replace(partial, path)


def make_media(cache: Path, n_files: int) -> dict[str, list[Path]]:
    """Create (once) the test files in ``cache`` and return them by set name."""
    cache.mkdir(parents=True, exist_ok=True)
    sets: dict[str, list[Path]] = {"224x224": [], "640x360": [], "long": []}
    todo = []
    for name, (w, h) in (("224x224", (224, 224)), ("640x360", (640, 360))):
        for i in range(n_files):
            p = cache / f"clip_{name}_{i:02d}.mp4"
            sets[name].append(p)
            todo.append((p, w, h, 10, i))
    p = cache / "long_640x360_60s.mp4"
    sets["long"].append(p)
    todo.append((p, 640, 360, 60, 1000))
    missing = [t for t in todo if not t[0].exists()]
    for k, (p, w, h, sec, seed) in enumerate(missing):
        print(f"  writing {p.name} ({k + 1}/{len(missing)})", flush=True)
        write_media(p, w, h, sec, seed)
    return sets


# ----------------------------------------------------------------------------------------------------------
# Loaders: each takes (path, fps) and returns what a training loop would receive
# ----------------------------------------------------------------------------------------------------------


def grid_indices(fps_out: int, seconds: int = 10) -> list[int]:
    """Source frame index nearest to each output grid time k / fps_out (ties to the earlier frame)."""
    return [
        int(Fraction(k * FPS, fps_out) + Fraction(1, 2) - Fraction(1, 10**9))
        for k in range(seconds * fps_out)
    ]


def load_avikit(path: Path, fps_out: int, threads: int | None) -> tuple[np.ndarray, np.ndarray]:
    clip = avikit_load(path, fps=fps_out, size=OUT_SIZE, sample_rate=OUT_RATE, channels=1, threads=threads)
    assert clip.frames is not None and clip.waveform is not None
    return clip.frames, clip.waveform


def load_torchcodec(path: Path, fps_out: int, threads: int) -> tuple[torch.Tensor, torch.Tensor]:
    from torchcodec.decoders import AudioDecoder, VideoDecoder
    from torchcodec.transforms import Resize

    vd = VideoDecoder(
        str(path),
        dimension_order="NHWC",
        num_ffmpeg_threads=threads,
        seek_mode="approximate",
        transforms=[Resize((OUT_SIZE, OUT_SIZE))],
    )
    seconds = [(i + 0.5) / FPS for i in grid_indices(fps_out)]
    frames = vd.get_frames_played_at(seconds).data
    audio = AudioDecoder(str(path), sample_rate=OUT_RATE, num_channels=1).get_all_samples().data
    return frames, audio


def load_decord(path: Path, fps_out: int, threads: int) -> tuple[np.ndarray, np.ndarray]:
    import decord

    vr = decord.VideoReader(str(path), width=OUT_SIZE, height=OUT_SIZE, num_threads=threads)
    idx = [min(i, len(vr) - 1) for i in grid_indices(fps_out)]
    frames = vr.get_batch(idx).asnumpy()
    audio = decord.AudioReader(str(path), sample_rate=OUT_RATE, mono=True)[:].asnumpy()
    return frames, audio


def load_floor(path: Path, fps_out: int, threads: int) -> int:
    """Decode every packet of both streams, no conversion, no resampling (the in-process floor)."""
    del fps_out
    n = 0
    with av.open(str(path)) as c:
        v, a = c.streams.video[0], c.streams.audio[0]
        v.codec_context.thread_type = "AUTO"
        v.codec_context.thread_count = threads
        for packet in c.demux(v, a):
            for _ in packet.decode():
                n += 1
    return n


@dataclass
class Loader:
    name: str  # row label
    family: str  # avikit, torchcodec, decord, floor
    fn: Callable
    threads: int | None
    note: str = ""

    def __call__(self, path: Path, fps_out: int) -> object:
        return self.fn(path, fps_out, self.threads)


def available(family: str) -> bool:
    try:
        if family == "torchcodec":
            import torchcodec.decoders  # noqa: F401
        elif family == "decord":
            import decord  # noqa: F401
    except Exception as exc:  # an optional peer that fails to import is skipped
        print(f"  {family} unavailable: {type(exc).__name__}: {exc}", file=sys.stderr)
        return False
    return True


def clip_loaders(workers: int) -> list[Loader]:
    """The loaders of one AV-clip table; avikit uses its defaults (decoder threads: FFmpeg's in one
    process, 1 in a worker)."""
    out = [Loader("avikit", "avikit", load_avikit, None)]
    if available("torchcodec"):
        out += [Loader(f"torchcodec t={t}", "torchcodec", load_torchcodec, t) for t in (0, 1)]
    if available("decord"):
        out += [Loader(f"decord t={t}", "decord", load_decord, t) for t in (0, 1)]
    out += [Loader(f"floor t={t}", "floor", load_floor, t) for t in (0, 1)]
    return out


# ----------------------------------------------------------------------------------------------------------
# Timing
# ----------------------------------------------------------------------------------------------------------


class ClipSet(Dataset):
    def __init__(self, files: list[Path], fps_out: int, loader: Loader) -> None:
        self.files, self.fps_out, self.loader = files, fps_out, loader

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> object:
        return self.loader(self.files[i], self.fps_out)


@dataclass
class Cell:
    epochs: list[float] = field(default_factory=list)  # seconds per epoch

    def rate(self, n: int) -> float:
        return n / statistics.median(self.epochs)


def run_clips(
    files: list[Path], fps_out: int, loaders: list[Loader], workers: int, epochs: int
) -> dict[str, float]:
    """Clips/s of each loader (median over ``epochs`` after one warm-up epoch), loaders interleaved."""
    runners: list[Callable[[], None]] = []
    for ld in loaders:
        if workers == 0:

            def run(ld: Loader = ld) -> None:
                for p in files:
                    ld(p, fps_out)

        else:
            dl = DataLoader(
                ClipSet(files, fps_out, ld), batch_size=None, num_workers=workers, persistent_workers=True
            )

            def run(dl: DataLoader = dl) -> None:
                for _ in dl:
                    pass

        runners.append(run)
    cells = [Cell() for _ in loaders]
    for run in runners:  # warm-up (and worker start-up)
        run()
    for _ in range(epochs):
        for run, cell in zip(runners, cells, strict=True):
            t0 = time.perf_counter()
            run()
            cell.epochs.append(time.perf_counter() - t0)
    del runners
    return {ld.name: cell.rate(len(files)) for ld, cell in zip(loaders, cells, strict=True)}


# ----------------------------------------------------------------------------------------------------------
# Random access
# ----------------------------------------------------------------------------------------------------------


def ra_avikit(path: Path, windows: list[float], reuse: bool) -> None:
    if not reuse:
        for s in windows:
            avikit_load(path, start=s, duration=1, sample_rate=OUT_RATE, channels=1)
        return
    with MediaReader(path) as reader:
        for s in windows:
            reader.load(start=s, duration=1, sample_rate=OUT_RATE, channels=1)


def ra_torchcodec(path: Path, windows: list[float], reuse: bool) -> None:
    from torchcodec.decoders import AudioDecoder, VideoDecoder

    def open_() -> tuple[VideoDecoder, AudioDecoder]:
        mode = "exact" if reuse else "approximate"
        vd = VideoDecoder(str(path), dimension_order="NHWC", num_ffmpeg_threads=0, seek_mode=mode)
        return vd, AudioDecoder(str(path), sample_rate=OUT_RATE, num_channels=1)

    decoders = open_() if reuse else None
    for s in windows:
        vd, ad = decoders if decoders is not None else open_()
        vd.get_frames_played_in_range(s, s + 1)
        ad.get_samples_played_in_range(s, s + 1)


def ra_decord(path: Path, windows: list[float], reuse: bool) -> None:
    import decord

    def open_() -> tuple[decord.VideoReader, decord.AudioReader]:
        return (
            decord.VideoReader(str(path), num_threads=0),
            decord.AudioReader(str(path), sample_rate=OUT_RATE, mono=True),
        )

    readers = open_() if reuse else None
    for s in windows:
        vr, ar = readers if readers is not None else open_()
        i0 = round(s * FPS)
        vr.get_batch(list(range(i0, min(i0 + FPS, len(vr))))).asnumpy()
        a0 = round(s * OUT_RATE)
        ar[a0 : a0 + OUT_RATE].asnumpy()


def ra_floor(path: Path, windows: list[float]) -> None:
    """Open, seek to the keyframe before the window, decode both streams up to its end, no conversion."""
    for s in windows:
        with av.open(str(path)) as c:
            v, a = c.streams.video[0], c.streams.audio[0]
            v.codec_context.thread_type = "AUTO"
            c.seek(int(s * av.time_base), backward=True)
            done = {v.index: False, a.index: False}
            for packet in c.demux(v, a):
                for frame in packet.decode():
                    if frame.time is not None and frame.time >= s + 1:
                        done[packet.stream_index] = True
                if all(done.values()):
                    break


def run_random_access(path: Path, n: int, epochs: int, seed: int) -> dict[str, float]:
    rng = random.Random(seed)
    windows = [round(rng.uniform(0, 59), 3) for _ in range(n)]
    warm = windows[: max(5, n // 10)]
    cases: list[tuple[str, Callable[[list[float]], None]]] = [
        ("avikit reopen", lambda w: ra_avikit(path, w, reuse=False)),
        ("avikit reused (MediaReader)", lambda w: ra_avikit(path, w, reuse=True)),
    ]
    if available("torchcodec"):
        cases += [
            ("torchcodec reopen", lambda w: ra_torchcodec(path, w, reuse=False)),
            ("torchcodec reused", lambda w: ra_torchcodec(path, w, reuse=True)),
        ]
    if available("decord"):
        cases += [
            ("decord reopen", lambda w: ra_decord(path, w, reuse=False)),
            ("decord reused", lambda w: ra_decord(path, w, reuse=True)),
        ]
    cases.append(("floor reopen", lambda w: ra_floor(path, w)))
    cells = {name: Cell() for name, _ in cases}
    for _, fn in cases:
        fn(warm)
    for _ in range(epochs):
        for name, fn in cases:
            t0 = time.perf_counter()
            fn(windows)
            cells[name].epochs.append(time.perf_counter() - t0)
    return {name: cell.rate(n) for name, cell in cells.items()}


# ----------------------------------------------------------------------------------------------------------
# log-Mel
# ----------------------------------------------------------------------------------------------------------


def run_mel(path: Path, repeats: int) -> dict[str, float]:
    clip = avikit_load(path, sample_rate=OUT_RATE, channels=1, video=False)
    assert clip.waveform is not None
    y = np.ascontiguousarray(clip.waveform[0, : 10 * OUT_RATE])
    batch = np.stack([y] * 20)
    out: dict[str, float] = {}

    def time_ms(fn: Callable[[], object], per: int = 1) -> float:
        fn()
        ts = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            ts.append((time.perf_counter() - t0) * 1000 / per)
        return statistics.median(ts)

    try:
        from avikit.media.mel import log_mel
    except ImportError:
        print("  avikit.media.mel.log_mel unavailable", file=sys.stderr)
        log_mel = None
    if log_mel is not None:
        yt, bt = torch.from_numpy(y), torch.from_numpy(batch)
        out["avikit log_mel, 1 clip"] = time_ms(lambda: log_mel(yt, OUT_RATE, 128, n_fft=400, hop_length=160))
        out["avikit log_mel, batch of 20 (per clip)"] = time_ms(
            lambda: log_mel(bt, OUT_RATE, 128, n_fft=400, hop_length=160), per=20
        )
    try:
        import librosa
    except ImportError:
        print("  librosa unavailable", file=sys.stderr)
        return out

    def lib() -> np.ndarray:
        s = librosa.feature.melspectrogram(y=y, sr=OUT_RATE, n_fft=400, hop_length=160, n_mels=128)
        return np.log(np.maximum(s, 1e-10))

    out["librosa melspectrogram + log, 1 clip"] = time_ms(lib)
    if log_mel is not None:
        ref = lib()
        ours = log_mel(torch.from_numpy(y), OUT_RATE, 128, n_fft=400, hop_length=160).numpy()
        out["max abs diff vs librosa (log)"] = float(np.abs(ours - ref).max())
    return out


# ----------------------------------------------------------------------------------------------------------
# Packed layout
# ----------------------------------------------------------------------------------------------------------

PACK_SPEC = RepackSpec(size=(OUT_SIZE, OUT_SIZE), keyframe_fps=Fraction(1), sample_rate=OUT_RATE, channels=1)


def pack_set(files: list[Path], folder: Path) -> list[Path]:
    """Pack each file (once) into ``folder``; the packed video paths (the WAV sidecar sits beside)."""
    out = []
    for path in files:
        video = folder / f"{path.stem}.mp4"
        if not video.exists() or not (folder / f"{path.stem}.wav").exists():
            repack(path, video, folder / path.stem, PACK_SPEC)
        out.append(video)
    return out


def load_packed(path: Path, fps_out: int, threads: int | None) -> tuple[np.ndarray, np.ndarray]:
    clip = avikit_load(
        path,
        fps=fps_out,
        sample_rate=OUT_RATE,
        channels=1,
        threads=threads,
        audio_path=path.with_suffix(".wav"),
    )
    assert clip.frames is not None and clip.waveform is not None
    return clip.frames, clip.waveform


def load_torchcodec_packed(path: Path, fps_out: int, threads: int) -> tuple[torch.Tensor, torch.Tensor]:
    from torchcodec.decoders import AudioDecoder, VideoDecoder

    vd = VideoDecoder(str(path), dimension_order="NHWC", num_ffmpeg_threads=threads, seek_mode="approximate")
    frames = vd.get_frames_played_at([(i + 0.5) / FPS for i in grid_indices(fps_out)]).data
    return frames, AudioDecoder(str(path.with_suffix(".wav"))).get_all_samples().data


def load_decord_packed(path: Path, fps_out: int, threads: int) -> tuple[np.ndarray, np.ndarray]:
    import decord

    vr = decord.VideoReader(str(path), num_threads=threads)
    frames = vr.get_batch([min(i, len(vr) - 1) for i in grid_indices(fps_out)]).asnumpy()
    return frames, decord.AudioReader(str(path.with_suffix(".wav")), sample_rate=OUT_RATE, mono=True)[
        :
    ].asnumpy()


class PackedSet(Dataset):
    """Original files for the loaders of the original layout, packed files for the others."""

    def __init__(self, files: list[Path], packed: list[Path], fps_out: int, loader: Loader) -> None:
        self.files = packed if loader.note == "packed" else files
        self.fps_out, self.loader = fps_out, loader

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> object:
        return self.loader(self.files[i], self.fps_out)


def packed_loaders() -> list[Loader]:
    out = [Loader("avikit original", "avikit", load_avikit, None),
           Loader("avikit packed", "packed", load_packed, None, note="packed")]  # fmt: skip
    if available("torchcodec"):
        out += [
            Loader("torchcodec original t=1", "torchcodec", load_torchcodec, 1),
            Loader("torchcodec packed t=1", "torchcodec", load_torchcodec_packed, 1, note="packed"),
        ]
    if available("decord"):
        out += [Loader("decord original t=1", "decord", load_decord, 1),
                Loader("decord packed t=1", "decord", load_decord_packed, 1, note="packed")]  # fmt: skip
    return out


def tree_cpu() -> float | None:
    """CPU seconds (user + system) of this process and all its live descendants (DataLoader workers);
    ``None`` where ``/proc`` does not say (not Linux)."""
    proc = Path("/proc")
    if not (proc / "self" / "stat").is_file():
        return None
    tick, parent, cpu = os.sysconf("SC_CLK_TCK"), {}, {}
    for entry in proc.iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # the process ended meanwhile
                continue
            parent[int(entry.name)] = int(fields[1])
            cpu[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    me, total = os.getpid(), time.process_time()
    for pid, seconds in cpu.items():
        ancestor = parent.get(pid, 0)
        while ancestor > 1 and ancestor != me:
            ancestor = parent.get(ancestor, 0)
        total += seconds if ancestor == me else 0.0
    return total


def collate_clips(batch: list[tuple[object, object]]) -> object:
    """Stack a batch of (frames, audio) into shared memory (``default_collate``); a list if shapes differ."""
    try:
        return default_collate(batch)
    except RuntimeError:  # e.g. a peer's audio one codec frame longer in one clip
        return batch


def run_packed_column(
    files: list[Path],
    packed: list[Path],
    workers: int,
    epochs: int,
    loaders: list[Loader],
    batch_size: int | None = None,
) -> tuple[dict[str, float], dict[str, float | None]]:
    """Clips/s at 1 fps of each loader on its layout, interleaved epoch by epoch (as :func:`run_clips`),
    and the CPU seconds per clip of the timed epochs (this process and its DataLoader workers).

    Every loader gets the same DataLoader: ``batch_size`` clips per batch (``None``: one clip per item).
    """
    runners: list[Callable[[], None]] = []
    for ld in loaders:
        dataset = PackedSet(files, packed, 1, ld)
        if workers == 0:

            def run(ds: PackedSet = dataset) -> None:
                for i in range(len(ds)):
                    ds[i]

        else:
            batching = {} if batch_size is None else {"batch_size": batch_size, "collate_fn": collate_clips}
            dl = DataLoader(
                dataset, **({"batch_size": None} | batching), num_workers=workers, persistent_workers=True
            )

            def run(dl: DataLoader = dl) -> None:
                for _ in dl:
                    pass

        runners.append(run)
    cells = [Cell() for _ in loaders]
    cpu: list[float | None] = [0.0 for _ in loaders]
    for run in runners:
        run()
    for _ in range(epochs):
        for k, (run, cell) in enumerate(zip(runners, cells, strict=True)):
            c0, t0 = tree_cpu(), time.perf_counter()
            run()
            cell.epochs.append(time.perf_counter() - t0)
            c1, spent = tree_cpu(), cpu[k]
            cpu[k] = None if c0 is None or c1 is None or spent is None else spent + c1 - c0
    del runners
    rates = {ld.name: cell.rate(len(files)) for ld, cell in zip(loaders, cells, strict=True)}
    per_clip = {
        ld.name: c if c is None else c / (epochs * len(files)) for ld, c in zip(loaders, cpu, strict=True)
    }
    return rates, per_clip


def fidelity(files: list[Path], packed: list[Path]) -> dict[str, float]:
    """Worst PSNR of the packed frames (1 fps) against the original loaded at 224x224; largest audio error."""
    psnrs, errors = [], []
    for path, video in zip(files, packed, strict=True):
        a = avikit_load(path, fps=1, size=OUT_SIZE, sample_rate=OUT_RATE, channels=1)
        b = avikit_load(video, fps=1, sample_rate=OUT_RATE, channels=1, audio_path=video.with_suffix(".wav"))
        assert (
            a.frames is not None
            and b.frames is not None
            and a.waveform is not None
            and b.waveform is not None
        )
        mse = np.mean((a.frames.astype(np.float64) - b.frames.astype(np.float64)) ** 2)
        psnrs.append(float(10 * np.log10(255.0**2 / mse)))
        errors.append(float(np.abs(a.waveform - b.waveform).max()))
    return {"psnr_db_min": min(psnrs), "psnr_db_mean": float(np.mean(psnrs)), "audio_max_abs": max(errors)}


def cpu_costs(files: list[Path], packed: list[Path], folder: Path) -> dict[str, float]:
    """CPU seconds per clip (user + system of this process, all its threads) of one 1 fps load of the
    original with the current loader, of the packed copy, and of packing one file: what a busy machine
    changes least, and ``2 / seconds`` is the clips/s that 2 idle cores could reach."""
    costs = {}
    for name, paths, load_one in (
        ("load original", files, lambda p: load_avikit(p, 1, None)),
        ("load packed", packed, lambda p: load_packed(p, 1, None)),
    ):
        load_one(paths[0])  # warm-up (imports, codec set-up)
        start = time.process_time()
        for path in paths:
            load_one(path)
        costs[f"{name} cpu_s"] = (time.process_time() - start) / len(paths)
    scratch = folder / "packed" / "_cost"
    start = time.process_time()
    for path in files[:4]:
        repack(path, scratch / f"{path.stem}.mp4", scratch / path.stem, PACK_SPEC)
    costs["pack cpu_s"] = (time.process_time() - start) / len(files[:4])
    for leftover in scratch.iterdir():
        leftover.unlink()
    scratch.rmdir()
    return costs


def run_packed(
    media: dict[str, list[Path]], folder: Path, clips: int, epochs: int, batch_size: int | None
) -> dict[str, object]:
    out: dict[str, object] = {}
    loaders = packed_loaders()
    for src in ("224x224", "640x360"):
        files = media[src][:clips]
        t0 = time.perf_counter()
        packed = pack_set(files, folder / "packed" / src)
        size = {
            "before": sum(p.stat().st_size for p in files),
            "after": sum(p.stat().st_size + p.with_suffix(".wav").stat().st_size for p in packed),
        }
        print(f"  packed {src}: {size['before'] / 1e6:.1f} MB -> {size['after'] / 1e6:.1f} MB "
              f"[{time.perf_counter() - t0:.0f} s]", flush=True)  # fmt: skip
        out[f"{src} bytes"] = size
        out[f"{src} fidelity"] = fidelity(files, packed)
        print(f"  fidelity {src}: {out[f'{src} fidelity']}", flush=True)
        out[f"{src} cpu"] = cpu_costs(files, packed, folder)
        print(f"  cpu per clip {src}: " + ", ".join(f"{k} {v:.4f}" for k, v in out[f"{src} cpu"].items())
              + f"  [load {os.getloadavg()[0]:.1f}]", flush=True)  # fmt: skip
        for workers, batch in ((0, None), (2, None), (2, batch_size)):
            col = f"{src}@1 w={workers}" + (f" b={batch}" if batch else "")
            if col in out:
                continue
            load_before, t0 = os.getloadavg(), time.perf_counter()
            rates, cpu = run_packed_column(files, packed, workers, epochs, loaders, batch)
            load_after = os.getloadavg()
            out[col] = {"clips_per_s": rates, "cpu_s_per_clip": cpu, "loadavg_before": load_before,
                        "loadavg_after": load_after}  # fmt: skip
            print(f"  {col}: " + ", ".join(f"{k} {v:.2f}" for k, v in rates.items())
                  + "; CPU ms/clip " + ", ".join(f"{k} {1e3 * v:.2f}" for k, v in cpu.items() if v)
                  + f"  [load {load_before[0]:.1f} -> {load_after[0]:.1f}, {time.perf_counter() - t0:.0f} s]",
                  flush=True)  # fmt: skip
    for src in ("224x224", "640x360"):
        for col in dict.fromkeys(
            (f"{src}@1 w=2", f"{src}@1 w=2" + (f" b={batch_size}" if batch_size else ""))
        ):
            rates = out[col]["clips_per_s"]  # type: ignore[index]
            ratio = rates["avikit packed"] / rates["avikit original"]
            print(f"  {col}: packed / current loader {ratio:.2f}x, packed {rates['avikit packed']:.1f}/s")
    return out


# ----------------------------------------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------------------------------------


def machine() -> dict[str, object]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor()
    info: dict[str, object] = {
        "nproc": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu": model,
        "python": platform.python_version(),
        "av": av.__version__,
        "libavcodec": ".".join(map(str, av.library_versions["libavcodec"])),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
    }
    for mod in ("torchcodec", "decord", "librosa"):
        try:
            info[mod] = __import__(mod).__version__
        except Exception:
            info[mod] = None
    return info


def best(rates: dict[str, float], family: str) -> tuple[str, float] | None:
    cands = [(k, v) for k, v in rates.items() if k.split(" ")[0] == family]
    return max(cands, key=lambda kv: kv[1]) if cands else None


def print_clip_table(results: dict[str, dict[str, float]]) -> None:
    cols = list(results)
    names = sorted(
        {k for r in results.values() for k in r}, key=lambda k: list(next(iter(results.values()))).index(k)
    )
    print("\nclips/s (median); columns: source @ output fps, w = DataLoader workers")
    print(f"{'loader':<18}" + "".join(f"{c:>22}" for c in cols))
    for n in names:
        print(f"{n:<18}" + "".join(f"{results[c].get(n, float('nan')):>22.2f}" for c in cols))
    print("ratios against each peer's best thread setting in that column:")
    for ours in ("avikit",):
        for fam in ("torchcodec", "decord", "floor"):
            line = f"{ours + ' / ' + fam:<18}"
            for c in cols:
                b = best(results[c], fam)
                ok = b is not None and ours in results[c]
                line += f"{results[c][ours] / b[1]:>22.2f}" if ok else f"{'-':>22}"
            print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short run: 6 clips, 2 epochs, 30 windows")
    parser.add_argument("--clips", type=int, default=20, help="files per source size (default 20)")
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs after the warm-up (default 3)")
    parser.add_argument("--windows", type=int, default=100, help="random-access windows (default 100)")
    parser.add_argument("--media", type=Path, default=HERE / "_media", help="cache folder for test media")
    parser.add_argument("--json", type=Path, default=HERE / "_media" / "media_load_results.json")
    parser.add_argument(
        "--only", nargs="*", default=["clips", "random", "mel"], choices=["clips", "random", "mel", "packed"]
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=5,
        help="packed layout: clips per DataLoader batch in the batched 2-worker column, for every loader "
        "(default 5; 0: leave that column out)",
    )
    args = parser.parse_args()
    if args.quick:
        args.clips, args.epochs, args.windows = 6, 2, 30

    info = machine()
    command = " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv])
    print(f"machine: {info}\ncommand: {command}", flush=True)
    print("test media:", flush=True)
    media = make_media(args.media, 20)
    results: dict[str, object] = {
        "machine": info,
        "command": command,
        "args": vars(args) | {"media": str(args.media)},
    }

    if "clips" in args.only:
        table: dict[str, dict[str, float]] = {}
        for workers in (0, 2):
            for src in ("224x224", "640x360"):
                for fps_out in (1, 8):
                    col = f"{src}@{fps_out} w={workers}"
                    t0 = time.perf_counter()
                    table[col] = run_clips(
                        media[src][: args.clips], fps_out, clip_loaders(workers), workers, args.epochs
                    )
                    print(
                        f"  {col}: "
                        + ", ".join(f"{k} {v:.2f}" for k, v in table[col].items())
                        + f"  [{time.perf_counter() - t0:.0f} s]",
                        flush=True,
                    )
        print_clip_table(table)
        results["clips_per_s"] = table

    if "random" in args.only:
        ra = run_random_access(media["long"][0], args.windows, args.epochs, seed=0)
        print("\nrandom access, 1 s windows of a 60 s 640x360 file (25 frames RGB + 16 kHz mono), windows/s")
        for k, v in ra.items():
            print(f"  {k:<30}{v:8.2f}   ({1000 / v:.0f} ms/window)")
        for ours in ("avikit reopen", "avikit reused (MediaReader)"):
            for fam in ("torchcodec", "decord", "floor"):
                b = best(ra, fam)
                if b:
                    print(f"  {ours} / best {fam}: {ra[ours] / b[1]:.2f}  ({b[0]})")
        results["random_access_windows_per_s"] = ra

    if "packed" in args.only:
        print("\npacked layout, 1 fps, 224x224 RGB + 16 kHz mono, clips/s (median)", flush=True)
        batch = args.batch_size or None
        results["packed"] = run_packed(media, args.media, args.clips, args.epochs, batch)

    if "mel" in args.only:
        mel = run_mel(media["224x224"][0], repeats=10 if args.quick else 30)
        print("\nlog-Mel, 10 s at 16 kHz, 128 mels, n_fft 400, hop 160 (ms per clip, median)")
        for k, v in mel.items():
            print(f"  {k:<42}{v:10.4g}")
        results["log_mel_ms"] = mel

    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2, default=str))
    print(f"\nresults written to {args.json}")


if __name__ == "__main__":
    main()
