"""``evol curate``: duplicates, contamination, difficulty and a budget over a build's dataset.

The entry point is ``curate.curate``.
"""
