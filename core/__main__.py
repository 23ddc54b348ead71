"""``python -m evolinstruct`` is ``evol``."""

from .cli import main

main()
