"""``python -m posenc`` = the ``posenc`` command (so ``torchrun -m posenc pretrain ...`` works)."""

from .cli import main

raise SystemExit(main())
