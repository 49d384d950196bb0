"""The hash-pinned locks in requirements/ cover pyproject.toml: every requirement pinned, hashed, consistent.

``make test`` installs from these files; a requirement added to pyproject.toml without ``make lock`` fails
here, naming the package.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / "requirements"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def read_lock(name: str) -> dict[str, tuple[Version, int]]:
    """``{package: (pinned version, number of hashes)}`` of one lock file."""
    pins: dict[str, tuple[Version, int]] = {}
    current = None
    for line in (REQUIREMENTS / name).read_text().splitlines():
        match = PIN.match(line)
        if match:
            current = canonicalize_name(match.group(1))
            pins[current] = (Version(match.group(2)), 0)
        elif current and line.strip().startswith("--hash=sha256:"):
            version, hashes = pins[current]
            pins[current] = (version, hashes + 1)
    return pins


@pytest.fixture(scope="module")
def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _requirements(texts: list[str]) -> list[Requirement]:
    return [Requirement(text) for text in texts]


def _check_covered(requirements: list[Requirement], pins: dict[str, tuple[Version, int]], lock: str) -> None:
    for requirement in requirements:
        name = canonicalize_name(requirement.name)
        if name == "torch":
            continue  # pinned in torch-cpu.lock, checked below
        assert name in pins, (
            f"{requirement.name} (pyproject.toml) is not in requirements/{lock}: run `make lock`"
        )
        assert requirement.specifier.contains(pins[name][0], prereleases=True), (
            f"requirements/{lock} pins {name}=={pins[name][0]}, outside pyproject's {requirement}: run `make lock`"
        )


def test_the_dev_lock_covers_the_runtime_the_dev_extra_and_the_build_backend(project) -> None:
    wanted = project["project"]["dependencies"] + project["project"]["optional-dependencies"]["dev"]
    _check_covered(
        _requirements(wanted + project["build-system"]["requires"]), read_lock("dev.lock"), "dev.lock"
    )


def test_the_run_lock_covers_the_runtime_with_the_dev_locks_versions(project) -> None:
    run, dev = read_lock("run.lock"), read_lock("dev.lock")
    _check_covered(_requirements(project["project"]["dependencies"]), run, "run.lock")
    assert {name: pin[0] for name, pin in run.items()} == {name: dev[name][0] for name in run}


def test_every_pin_is_hashed_and_torch_is_only_the_cpu_wheel() -> None:
    dev = read_lock("dev.lock")
    for lock in ("dev.lock", "run.lock", "torch-cpu.lock"):
        pins = read_lock(lock)
        assert pins and all(hashes >= 1 for _, hashes in pins.values()), lock
        if lock != "torch-cpu.lock":
            assert "torch" not in pins and not any(name.startswith("nvidia-") for name in pins), lock
    torch = read_lock("torch-cpu.lock")
    assert torch["torch"] == (Version("2.13.0+cpu"), 1)  # the one CPU wheel; the CUDA build has other hashes
    assert all(dev[name][0] == version for name, (version, _) in torch.items() if name != "torch")
