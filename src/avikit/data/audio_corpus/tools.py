"""The Debian programs the audio corpus runs: finding them, and running them with a clear error.

``espeak-ng`` speaks the speech domain and ``fluidsynth`` (with the General MIDI soundfont of
``fluid-soundfont-gm``) renders the music domain. Both are Debian packages; ``make test`` and
``.ci/run`` install them when missing (``tools/install_system_packages.sh``).

Example:
    >>> find_program("sh").name
    'sh'
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from avikit.errors import MissingDependencyError

__all__ = ["DEBIAN_PACKAGES", "SOUNDFONT_PATHS", "find_program", "find_soundfont", "run_program"]

DEBIAN_PACKAGES = {"espeak-ng": "espeak-ng", "fluidsynth": "fluidsynth", "soundfont": "fluid-soundfont-gm"}
"""What provides each program or file: the Debian package to install."""

SOUNDFONT_PATHS = ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "/usr/share/sounds/sf2/default-GM.sf2")
"""Where ``fluid-soundfont-gm`` puts the General MIDI soundfont (FluidR3_GM, MIT licence)."""

SOUNDFONT_ENV = "AVIKIT_SOUNDFONT"
"""Environment variable that names another General MIDI soundfont (.sf2)."""


def _install_hint(package: str) -> str:
    return f"install the Debian package: apt-get install {package} (or run tools/install_system_packages.sh)"


def find_program(name: str) -> Path:
    """Return the path of the program ``name`` on ``PATH``.

    Raises:
        MissingDependencyError: it is not installed; the message names the package to install.
    """
    found = shutil.which(name)
    if found is None:
        raise MissingDependencyError(
            f"{name} is not installed; {_install_hint(DEBIAN_PACKAGES.get(name, name))}"
        )
    return Path(found)


def find_soundfont() -> Path:
    """Return the General MIDI soundfont: ``$AVIKIT_SOUNDFONT`` if set, else FluidR3_GM from Debian.

    Raises:
        MissingDependencyError: no soundfont file is found.
    """
    named = os.environ.get(SOUNDFONT_ENV)
    candidates = [named] if named else list(SOUNDFONT_PATHS)
    for candidate in candidates:
        if Path(candidate).is_file():
            return Path(candidate)
    raise MissingDependencyError(
        f"no General MIDI soundfont at {', '.join(candidates)}; {_install_hint(DEBIAN_PACKAGES['soundfont'])}"
    )


def run_program(arguments: Sequence[str | os.PathLike[str]], timeout: float = 120.0) -> bytes:
    """Run a program (its first argument found by :func:`find_program`); return its standard output.

    Raises:
        MissingDependencyError: the program is not installed.
        RuntimeError: it exits with an error; the message holds its last error line.
    """
    program = find_program(str(arguments[0]))
    done = subprocess.run(
        [str(program), *map(str, arguments[1:])], capture_output=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines() or ["no message"]
        raise RuntimeError(f"{arguments[0]} exited with {done.returncode}: {lines[-1]}")
    return done.stdout
