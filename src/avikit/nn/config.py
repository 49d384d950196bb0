"""Typed dataclass configs, loaded strictly from dicts, JSON or TOML files and dotted overrides.

Files only serialise dataclasses: unknown keys, duplicate keys, missing required fields and values of the
wrong type are errors that name the field path. A file may name one ``base`` file (a path relative to
itself) whose values it overrides; the base may not name another.

Example:
    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Run:
    ...     steps: int
    ...     lr: float = 1e-3
    >>> config_from_dict(Run, {"steps": 10, "lr": 1})
    Run(steps=10, lr=1.0)
    >>> apply_overrides(Run(steps=10), ["lr=0.5"]).lr
    0.5
    >>> config_from_dict(Run, {"steps": 10, "stpes": 3})
    Traceback (most recent call last):
    ...
    avikit.nn.config.ConfigError: unknown field(s) ['stpes'] in Run; valid fields are ['lr', 'steps']
"""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from avikit.errors import UsageError

__all__ = [
    "ConfigError",
    "apply_overrides",
    "config_from_dict",
    "config_to_dict",
    "load_config",
    "save_config",
]

T = TypeVar("T")


class ConfigError(UsageError):
    """A config does not match its dataclass (unknown, duplicate, missing or mistyped field)."""


def config_to_dict(config: Any) -> dict[str, Any]:
    """Return the JSON-able dict of a dataclass config (tuples become lists)."""
    if not dataclasses.is_dataclass(config) or isinstance(config, type):
        raise TypeError(f"expected a dataclass instance, got {type(config).__name__}")
    out: dict[str, Any] = json.loads(json.dumps(dataclasses.asdict(config)))
    return out


def config_from_dict(cls: type[T], data: Mapping[str, Any], where: str = "") -> T:
    """Build dataclass ``cls`` from ``data`` strictly (nested dataclasses from nested mappings).

    Raises:
        ConfigError: for unknown keys, missing required fields or values of the wrong type.
    """
    name = where or cls.__name__
    if not isinstance(data, Mapping):
        raise ConfigError(f"{name} must be a mapping of fields, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"unknown field(s) {unknown} in {name}; valid fields are {sorted(fields)}")
    missing = [
        n
        for n, f in fields.items()
        if n not in data and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ConfigError(f"missing required field(s) {missing} in {name}")
    hints = typing.get_type_hints(cls)
    values = {key: _convert(hints[key], value, f"{name}.{key}") for key, value in data.items()}
    return cls(**values)


def _convert(tp: Any, value: Any, where: str) -> Any:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return config_from_dict(tp, value, where)
    if origin in (typing.Union, types.UnionType):
        return _convert_union(args, value, where)
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{where} must be one of {list(args)}, got {value!r}")
        return value
    if origin in (tuple, list):
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where} must be a list, got {value!r}")
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis) and len(args) != len(value):
            raise ConfigError(f"{where} must have {len(args)} items, got {len(value)}")
        item_types = [args[0]] * len(value) if origin is list or args[-1] is Ellipsis else list(args)
        items = [
            _convert(t, v, f"{where}[{i}]") for i, (t, v) in enumerate(zip(item_types, value, strict=True))
        ]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where} must be a mapping, got {value!r}")
        return {str(k): _convert(args[1], v, f"{where}.{k}") for k, v in value.items()}
    return _convert_scalar(tp, value, where)


def _convert_union(args: tuple[Any, ...], value: Any, where: str) -> Any:
    if value is None:
        if type(None) in args:
            return None
        raise ConfigError(f"{where} may not be null")
    errors = []
    for option in (a for a in args if a is not type(None)):
        try:
            return _convert(option, value, where)
        except ConfigError as err:
            errors.append(str(err))
    raise ConfigError("; ".join(errors))


def _convert_scalar(tp: Any, value: Any, where: str) -> Any:
    if tp is Any:
        return value
    if tp is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if tp is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if tp in (bool, str) and isinstance(value, tp):
        return value
    if tp in (int, float, bool, str):
        raise ConfigError(f"{where} must be {tp.__name__}, got {type(value).__name__} {value!r}")
    raise ConfigError(
        f"{where} has an unsupported field type {tp!r}; use scalars, tuples, lists or dataclasses"
    )


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ConfigError(f"duplicate key {key!r} in config file")
        out[key] = value
    return out


def _read_file(path: Path) -> dict[str, Any]:
    text = path.read_text()
    try:
        if path.suffix == ".json":
            data = json.loads(text, object_pairs_hook=_reject_duplicates)
        elif path.suffix == ".toml":
            data = tomllib.loads(text)
        else:
            raise ConfigError(f"unsupported config file {path}: use .json or .toml")
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"cannot parse config file {path}: {err}") from err
    except ConfigError as err:
        raise ConfigError(f"{err} ({path})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping at the top level")
    return data


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        both_maps = isinstance(value, Mapping) and isinstance(out.get(key), Mapping)
        out[key] = _merge(out[key], value) if both_maps else value
    return out


def load_config(cls: type[T], path: str | os.PathLike[str]) -> T:
    """Load dataclass ``cls`` from a ``.json`` or ``.toml`` file, with at most one level of ``base``.

    Raises:
        ConfigError: for a file that does not match ``cls`` (see :func:`config_from_dict`), duplicate keys,
            or a base file that names a base of its own.
    """
    file = Path(path)
    data = _read_file(file)
    base = data.pop("base", None)
    if base is not None:
        parent = _read_file(file.parent / str(base))
        if "base" in parent:
            raise ConfigError(f"{file.parent / str(base)} names a base of its own; only one level is allowed")
        data = _merge(parent, data)
    return config_from_dict(cls, data)


def save_config(config: Any, path: str | os.PathLike[str]) -> Path:
    """Write a dataclass config as indented JSON; :func:`load_config` reads it back to an equal object."""
    file = Path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(json.dumps(config_to_dict(config), indent=2, sort_keys=True) + "\n")
    return file


def apply_overrides(config: T, overrides: Sequence[str]) -> T:
    """Return ``config`` with ``dotted.path=value`` overrides applied (values parsed as JSON, else strings).

    Raises:
        ConfigError: for a malformed override or a path or value that the dataclass does not accept.
    """
    data = config_to_dict(config)
    for item in overrides:
        path, sep, raw = item.partition("=")
        if not sep or not path:
            raise ConfigError(f"override {item!r} must look like field.path=value")
        node = data
        *parents, leaf = path.split(".")
        for part in parents:
            if not isinstance(node.get(part), dict):
                raise ConfigError(f"override {item!r}: {part!r} is not a config section")
            node = node[part]
        if leaf not in node:
            raise ConfigError(f"override {item!r}: unknown field {leaf!r}; valid fields are {sorted(node)}")
        try:
            node[leaf] = json.loads(raw)
        except json.JSONDecodeError:
            node[leaf] = raw
    return config_from_dict(type(config), data)
