"""Imports point down the layers of DESIGN.md: a module never imports a layer above its own."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "avikit"
# Lower index = lower layer. Top-level modules (errors, _version) sit below every layer.
LAYERS = ["media", "data", "metrics", "tasks", "nn", "models", "eval", "cli"]


def imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
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
        for line, module in imported_modules(path):
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
    problems = upward_imports(tmp_path)
    assert len(problems) == 2 and all(p.startswith("media/bad.py") for p in problems)


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
