"""``python -m textrl``: the command line, also under ``torchrun ... -m textrl train ...``."""

from textrl.cli import main

main()
