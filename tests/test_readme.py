"""The README's Python quickstart runs as written."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run() -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "the README has no Python example"
    namespace = {"__name__": "readme"}  # one session: later blocks use names of earlier ones
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)


def test_readme_commands_run_verbatim(tmp_path: Path) -> None:
    """The README's command-line block, as written, in an empty folder (set -e: any failure fails)."""
    import json
    import os
    import subprocess
    import sys

    (block,) = [
        b for b in re.findall(r"```bash\n(.*?)```", README.read_text(), flags=re.S) if "avikit score" in b
    ]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert '"accuracy"' in done.stdout and (tmp_path / "runs/report/report.html").is_file()
    results = (tmp_path / "runs/a/results.json").read_text()
    assert '"avikit/avel"' in results and '"noise_snr=0"' in results
    ave = json.loads((tmp_path / "runs/ave/results.json").read_text())  # the real AVE recipe's folder
    oracle = next(c for c in ave["cells"] if c["model_id"] == "oracle")
    assert oracle["count"] > 0 and oracle["scores"]["accuracy"] == 1.0
    assert {c["model_id"] for c in ave["cells"]} == {"avikit/avel", "oracle"}
