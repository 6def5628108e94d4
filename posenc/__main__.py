"""``python -m posenc`` = the ``posenc`` command (so ``torchrun -m posenc pretrain ...`` works).

Guarded: a sweep's worker processes (``--jobs N``, started with ``spawn``) import this module as
``__mp_main__`` and must not run the command line again."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
