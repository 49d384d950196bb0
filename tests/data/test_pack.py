"""``pack_dataset``: the fast layout of AVSynth and prepared folders, loaded against the original."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from avikit.cli import main
from avikit.data.card import DatasetCard, write_card
from avikit.data.datasets import DATASETS
from avikit.data.download import compute_file_hash
from avikit.data.export import export_dataset
from avikit.data.manifest import read_manifest, write_manifest
from avikit.data.pack import load_packed_clip, pack_dataset, read_packed
from avikit.data.prepared import validate_prepared
from avikit.data.sample import MediaRef, Provenance, Sample
from avikit.data.synth import generate, load_clip, prepare_avsynth
from avikit.errors import DataError, UsageError
from avikit.eval.source import load_eval_data
from avikit.media import AVClip, save
from avikit.media.repack import RepackSpec

SIXTEEN_BIT = 2.0**-15  # the sidecar rounds each sample to the nearest 16-bit step (half a step at most)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / mse))


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("avsynth")
    prepare_avsynth(root, {"test": 3}, seed=0)
    return root


@pytest.fixture(scope="module")
def packed(synth: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("packed")
    pack_dataset(synth, out, RepackSpec(), verify=3)
    return out


def test_a_packed_set_keeps_its_records_and_loads_like_the_original(synth: Path, packed: Path) -> None:
    before, after = read_manifest(synth / "test.jsonl"), read_manifest(packed / "test.jsonl")
    assert [s.id for s in before] == [s.id for s in after]
    psnrs = []
    for old, new in zip(before, after, strict=True):
        assert new.media.path == f"video/clips/{old.id}.mp4" and new.media.duration == old.media.duration
        assert (packed / new.targets["masks"]).read_bytes() == (synth / old.targets["masks"]).read_bytes()
        assert {k: v for k, v in new.targets.items() if k != "masks"} == {
            k: v for k, v in old.targets.items() if k != "masks"
        }
        original, again = load_clip(old, synth), load_packed_clip(new, packed)
        assert again.require_frames().shape == original.require_frames().shape
        psnrs.append(_psnr(again.require_frames(), original.require_frames()))
        np.testing.assert_allclose(again.require_waveform(), original.require_waveform(), atol=SIXTEEN_BIT)
    # CRF 18 on AVSynth's flat shapes: 49.2 dB measured; x264 is bit-exact across CPUs
    assert min(psnrs) >= 45.0
    record = read_packed(packed)
    assert record["fidelity"]["psnr_db"] == pytest.approx(min(psnrs), abs=0.01)
    assert record["transform"]["keyframe_fps"] == "1" and record["transform"]["sample_rate"] == 16000
    assert record["bytes_before"] == sum((synth / s.media.path).stat().st_size for s in before)
    assert load_eval_data(packed, "test").card == load_eval_data(synth, "test").card


def test_a_rerun_resumes_and_another_transform_is_refused(synth: Path, packed: Path) -> None:
    video = packed / "video" / "clips" / "test_000000.mp4"
    stamp = video.stat().st_mtime_ns
    pack_dataset(synth, packed, RepackSpec(), verify=0)
    rows = [json.loads(line) for line in (packed / "index.jsonl").read_text().splitlines()]
    assert all(row["resumed"] for row in rows) and video.stat().st_mtime_ns == stamp
    with pytest.raises(UsageError, match="not empty"):
        pack_dataset(synth, packed, RepackSpec(size=(64, 64)))


def test_generated_media_is_refused_and_audio_only_media_packs_to_a_sidecar(tmp_path: Path) -> None:
    sample = generate("test", 0)[0]
    card = DatasetCard("demo", "1", "d", "h", "CC0-1.0", {}, {"test": 1}, {}, {"test": "test.jsonl"})
    write_card(tmp_path / "gen" / "card.json", card)
    write_manifest(tmp_path / "gen" / "test.jsonl", [sample])
    with pytest.raises(DataError, match="generator URI"):
        pack_dataset(tmp_path / "gen", tmp_path / "gen-packed")
    sound = AVClip(waveform=np.sin(np.arange(16000, dtype=np.float32) / 9)[None] * 0.5, sample_rate=16000)
    save(sound, tmp_path / "audio" / "sounds" / "a.wav")
    write_card(tmp_path / "audio" / "card.json", card)
    ref = Sample("a", "demo", "test", MediaRef("sounds/a.wav", 0, 1), Provenance("demo", "CC0-1.0"))
    write_manifest(tmp_path / "audio" / "test.jsonl", [ref])
    pack_dataset(tmp_path / "audio", tmp_path / "audio-packed", RepackSpec(sample_rate=8000))
    (packed_sample,) = read_manifest(tmp_path / "audio-packed" / "test.jsonl")
    assert packed_sample.media.path == "audio/sounds/a.wav.wav"
    clip = load_packed_clip(packed_sample, tmp_path / "audio-packed")
    assert not clip.has_video and clip.sample_rate == 8000 and clip.num_samples == 8000


def test_a_prepared_folder_packs_to_a_valid_prepared_folder(tmp_path: Path) -> None:
    synth = tmp_path / "synth"
    prepare_avsynth(synth, {"train": 1, "val": 1, "test": 2}, seed=0)
    export_dataset(synth, tmp_path / "official", "llp")
    first = (tmp_path / "official" / "data" / "AVVP_test_pd.csv").read_text().splitlines()[1][:11]
    (tmp_path / "official" / "data" / "LLP_dataset" / "video" / f"{first}.mp4").unlink()  # taken down
    DATASETS["llp"].prepare(tmp_path / "official", tmp_path / "prepared", check_classes=False)
    report = pack_dataset(tmp_path / "prepared", tmp_path / "packed", RepackSpec(size=(64, 64)), verify=1)
    assert report.media == 3 and validate_prepared(tmp_path / "packed").ok
    before, after = load_eval_data(tmp_path / "prepared"), load_eval_data(tmp_path / "packed")
    assert after.subset == before.subset and after.subset["missing_media"] == 1
    card = json.loads((tmp_path / "packed" / "croissant.json").read_text())
    (entry,) = [d for d in card["distribution"] if d.get("contentUrl") == "test.jsonl"]
    assert entry["sha256"] == compute_file_hash(tmp_path / "packed" / "test.jsonl")


def test_the_pack_command(synth: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli-packed"
    main(["data", "pack", str(synth), str(out), "--size", "64", "--audio-format", "flac", "--verify", "1"])
    assert "packed 3 media files of 3 samples" in capsys.readouterr().out
    assert (out / "audio" / "clips" / "test_000000.flac").is_file()
    with pytest.raises(SystemExit) as bad:
        main(["data", "pack", str(synth), str(tmp_path / "x"), "--size", "63"])
    assert bad.value.code == 2
