import json
import sys
import types
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from torch import nn

from avikit.nn import (
    WeightsError,
    from_pretrained,
    read_pretrained_config,
    resolve_pretrained,
    save_pretrained,
    weights_sha256,
)


@dataclass(frozen=True)
class TinyConfig:
    width: int = 4
    depth: int = 2


def build(cfg: TinyConfig) -> nn.Module:
    layers = [nn.Linear(cfg.width, cfg.width) for _ in range(cfg.depth)]
    return nn.Sequential(*layers, nn.BatchNorm1d(cfg.width))


def trained(cfg: TinyConfig) -> nn.Module:
    torch.manual_seed(0)
    model = build(cfg)
    model(torch.randn(8, cfg.width))  # moves BatchNorm running statistics (buffers must round-trip too)
    return model


def test_save_load_round_trip_is_bit_identical(tmp_path):
    cfg = TinyConfig(width=6, depth=3)
    model = trained(cfg)
    folder = save_pretrained(model, cfg, tmp_path / "m", kind="test.tiny")
    loaded, loaded_cfg = from_pretrained(folder, TinyConfig, build, kind="test.tiny")
    assert loaded_cfg == cfg and not loaded.training
    original, restored = model.state_dict(), loaded.state_dict()
    assert original.keys() == restored.keys()
    for key in original:
        assert original[key].dtype == restored[key].dtype
        assert torch.equal(original[key], restored[key]), key
    meta = json.loads((folder / "config.json").read_text())
    assert meta["weights"]["sha256"] == weights_sha256(folder / "model.safetensors")
    assert meta["kind"] == "test.tiny" and meta["config"] == {"width": 6, "depth": 3}


def test_corrupt_weights_are_detected(tmp_path):
    folder = save_pretrained(trained(TinyConfig()), TinyConfig(), tmp_path, kind="test.tiny")
    data = bytearray((folder / "model.safetensors").read_bytes())
    data[-1] ^= 1
    (folder / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="sha256"):
        from_pretrained(folder, TinyConfig, build)


def test_wrong_kind_and_mismatched_shapes_are_errors(tmp_path):
    folder = save_pretrained(trained(TinyConfig()), TinyConfig(), tmp_path, kind="test.tiny")
    with pytest.raises(WeightsError, match="not a 'test.other' model"):
        from_pretrained(folder, TinyConfig, build, kind="test.other")
    with pytest.raises(WeightsError, match="cannot load|does not fit"):
        from_pretrained(folder, TinyConfig, lambda cfg: build(TinyConfig(width=5, depth=cfg.depth)))


def test_config_in_the_folder_is_read_strictly(tmp_path):
    folder = save_pretrained(trained(TinyConfig()), TinyConfig(), tmp_path, kind="test.tiny")
    meta = json.loads((folder / "config.json").read_text())
    meta["config"]["colour"] = "red"
    (folder / "config.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="unknown field"):
        read_pretrained_config(folder, TinyConfig)


def test_named_weights_resolve_from_search_dirs(tmp_path):
    save_pretrained(trained(TinyConfig()), TinyConfig(), tmp_path / "zoo" / "tiny-v1", kind="test.tiny")
    assert resolve_pretrained("tiny-v1", search_dirs=[tmp_path / "zoo"]) == tmp_path / "zoo" / "tiny-v1"


def test_unknown_local_name_is_an_error_not_a_download(tmp_path):
    with pytest.raises(WeightsError, match="no pretrained weights"):
        resolve_pretrained(str(tmp_path / "missing" / "deeper" / "path"))


def test_hub_ids_go_through_snapshot_download(tmp_path, monkeypatch):
    source = save_pretrained(trained(TinyConfig()), TinyConfig(), tmp_path / "remote", kind="test.tiny")
    calls = []

    def snapshot_download(**kwargs):  # stands in for the hub client: no network in tests
        calls.append(kwargs)
        return str(source)

    monkeypatch.setitem(
        sys.modules, "huggingface_hub", types.SimpleNamespace(snapshot_download=snapshot_download)
    )
    monkeypatch.chdir(tmp_path)
    model, _ = from_pretrained("hf:someone/tiny-model", TinyConfig, build, revision="v1")
    assert calls[0]["repo_id"] == "someone/tiny-model" and calls[0]["revision"] == "v1"
    assert "model.safetensors" in calls[0]["allow_patterns"]
    assert isinstance(model, nn.Sequential)


def test_hub_id_without_the_client_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)  # import fails
    monkeypatch.chdir(tmp_path)
    with pytest.raises(WeightsError, match=r"avikit\[hub\]"):
        resolve_pretrained("someone/tiny-model")
    assert not Path("someone").exists()
