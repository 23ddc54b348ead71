"""``python -m evolinstruct`` is ``evol``."""

from .app.cli import main

main()
