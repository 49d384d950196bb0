"""avikit: one toolkit for audio-visual intelligence.

Layers (imports point downward only): ``media`` → ``data`` → ``metrics`` → ``tasks`` → ``envs`` → ``nn``
→ ``models`` → ``train`` → ``eval`` → ``studies`` → ``cli``; inference (``models``) never imports ``train``.
Importing avikit has no side effects: no logging set-up, no seeds, no downloads.

Example:
    >>> import avikit
    >>> isinstance(avikit.__version__, str)
    True
"""

from avikit._version import __version__

__all__ = ["__version__"]
