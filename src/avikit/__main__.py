"""``python -m avikit``: the command line (also what ``torchrun -m avikit`` runs)."""

from avikit.cli import main

if __name__ == "__main__":
    main()
