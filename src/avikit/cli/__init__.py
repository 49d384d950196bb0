"""The ``avikit`` command line: a thin layer over the library; every command calls one library function."""

from avikit.cli.app import app, main

__all__ = ["app", "main"]
