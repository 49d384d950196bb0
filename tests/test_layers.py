"""Imports point down the layers of DESIGN.md: a module never imports a layer above its own."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "avikit"
# Lower index = lower layer. Top-level modules (errors, _version) sit below every layer; __main__ above.
LAYERS = ["media", "data", "metrics", "tasks", "envs", "nn", "models", "train", "eval", "studies", "cli"]


def imported_modules(path: Path, root: Path = SRC) -> list[tuple[int, str]]:
    """Absolute names of the modules ``path`` imports; relative imports are resolved against its package."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = ["avikit", *path.relative_to(root).parent.parts]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1]
            if node.module:
                found.append((node.lineno, ".".join([*base, node.module])))
            else:
                found += [(node.lineno, ".".join([*base, alias.name])) for alias in node.names]
    return found


def layer_of(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "avikit" or len(parts) < 2:
        return None
    return LAYERS.index(parts[1]) if parts[1] in LAYERS else -1


def upward_imports(root: Path) -> list[str]:
    problems = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        own = LAYERS.index(rel.parts[0]) if rel.parts[0] in LAYERS else -1
        if rel.parts == ("__main__.py",):  # ``python -m avikit`` runs the CLI: it sits above every layer
            own = len(LAYERS)
        for line, module in imported_modules(path, root):
            target = layer_of(module)
            if target is not None and target > own:
                problems.append(
                    f"{rel}:{line} imports {module} (layer {LAYERS[target]} is above {rel.parts[0]})"
                )
    return problems


def test_no_module_imports_a_layer_above_its_own() -> None:
    assert upward_imports(SRC) == []


def test_the_check_catches_an_upward_import(tmp_path: Path) -> None:
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "bad.py").write_text("from avikit.models import thing\nimport avikit.data.sample\n")
    (tmp_path / "eval").mkdir()
    (tmp_path / "eval" / "fine.py").write_text(
        "from avikit.media import AVClip\nfrom avikit.errors import AvikitError\n"
    )
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "relative.py").write_text("from ..train import recipes\nfrom . import protocol\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "rel.py").write_text("from ..models.registry import get_model\n")
    problems = upward_imports(tmp_path)
    assert len(problems) == 4
    assert sum(p.startswith("media/bad.py") for p in problems) == 2
    assert any(p.startswith("models/relative.py:1 imports avikit.train ") for p in problems)
    assert any(p.startswith("data/rel.py:1 imports avikit.models.registry") for p in problems)


def test_inference_never_imports_training() -> None:
    """``models`` (inference) must not import ``train``: spelled out, though the layer order implies it."""
    offenders = [
        f"{path.relative_to(SRC)} imports {module}"
        for path in sorted((SRC / "models").rglob("*.py"))
        for _, module in imported_modules(path)
        if module.startswith("avikit.train") or module.startswith("avikit.studies")
    ]
    assert offenders == []


def test_importing_avikit_has_no_side_effects() -> None:
    import logging
    import subprocess
    import sys

    code = (
        "import logging, avikit, avikit.media, avikit.data, avikit.metrics, avikit.tasks, avikit.eval;"
        "print(len(logging.getLogger().handlers), 'torch' in __import__('sys').modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out[0] == "0"  # no logging configured on import
    assert logging.getLogger("avikit").handlers == []
