from dataclasses import dataclass, field
from typing import Literal

import pytest

from avikit.nn import ConfigError, apply_overrides, config_from_dict, config_to_dict, load_config, save_config


@dataclass(frozen=True)
class Optim:
    lr: float = 1e-3
    kind: Literal["adamw", "sgd"] = "adamw"


@dataclass(frozen=True)
class Run:
    steps: int
    name: str = "run"
    sizes: tuple[int, ...] = (1, 2)
    note: str | None = None
    optim: Optim = field(default_factory=Optim)


def test_round_trip_through_dict_and_json(tmp_path):
    cfg = Run(steps=3, sizes=(4, 5), optim=Optim(lr=0.5, kind="sgd"))
    assert config_from_dict(Run, config_to_dict(cfg)) == cfg
    assert load_config(Run, save_config(cfg, tmp_path / "run.json")) == cfg


def test_unknown_keys_are_errors_with_the_path():
    with pytest.raises(ConfigError, match=r"unknown field\(s\) \['lrr'\] in Run.optim"):
        config_from_dict(Run, {"steps": 1, "optim": {"lrr": 1.0}})


def test_missing_required_field_is_an_error():
    with pytest.raises(ConfigError, match=r"missing required field\(s\) \['steps'\]"):
        config_from_dict(Run, {"name": "x"})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"steps": "3"}, "Run.steps must be int"),
        ({"steps": True}, "Run.steps must be int"),
        ({"steps": 1.5}, "Run.steps must be int"),
        ({"steps": 1, "sizes": [1, "a"]}, r"Run.sizes\[1\] must be int"),
        ({"steps": 1, "optim": {"kind": "adam"}}, "must be one of"),
        ({"steps": 1, "optim": 3}, "must be a mapping"),
    ],
)
def test_wrong_types_are_errors(data, message):
    with pytest.raises(ConfigError, match=message):
        config_from_dict(Run, data)


def test_ints_are_accepted_for_floats_and_none_for_optionals():
    cfg = config_from_dict(Run, {"steps": 1, "note": None, "optim": {"lr": 1}})
    assert cfg.optim.lr == 1.0 and isinstance(cfg.optim.lr, float) and cfg.note is None


def test_duplicate_keys_in_json_and_toml_are_errors(tmp_path):
    (tmp_path / "a.json").write_text('{"steps": 1, "steps": 2}')
    with pytest.raises(ConfigError, match="duplicate key 'steps'"):
        load_config(Run, tmp_path / "a.json")
    (tmp_path / "a.toml").write_text("steps = 1\nsteps = 2\n")
    with pytest.raises(ConfigError, match="cannot parse"):
        load_config(Run, tmp_path / "a.toml")


def test_toml_with_one_level_of_base(tmp_path):
    (tmp_path / "base.toml").write_text('steps = 5\nname = "base"\n[optim]\nlr = 0.1\n')
    (tmp_path / "child.toml").write_text('base = "base.toml"\nname = "child"\n[optim]\nkind = "sgd"\n')
    cfg = load_config(Run, tmp_path / "child.toml")
    assert cfg == Run(steps=5, name="child", optim=Optim(lr=0.1, kind="sgd"))
    (tmp_path / "grand.toml").write_text('base = "child.toml"\n')
    with pytest.raises(ConfigError, match="only one level"):
        load_config(Run, tmp_path / "grand.toml")


def test_dotted_overrides_are_typed():
    cfg = apply_overrides(Run(steps=1), ["optim.lr=0.25", "name=fast", "sizes=[3]"])
    assert cfg == Run(steps=1, name="fast", sizes=(3,), optim=Optim(lr=0.25))
    with pytest.raises(ConfigError, match="unknown field 'lrr'"):
        apply_overrides(Run(steps=1), ["optim.lrr=1"])
    with pytest.raises(ConfigError, match="must be float"):
        apply_overrides(Run(steps=1), ["optim.lr=fast"])
    with pytest.raises(ConfigError, match="field.path=value"):
        apply_overrides(Run(steps=1), ["steps"])
