"""The package list, found rather than typed.

Three import packages live in folders named differently from them (``evolinstruct`` in core/,
the two built-in plugins under plugins/), which ``[tool.setuptools.packages.find]`` in
pyproject.toml cannot map; every folder with an ``__init__.py`` below each root ships, so a new
subpackage needs no edit here. Everything else is declared in pyproject.toml.
"""

from setuptools import find_packages, setup

ROOTS = {"evolinstruct": "core", "wizardcoder": "plugins/wizardcoder", "wizardmath": "plugins/wizardmath"}

setup(
    package_dir=ROOTS,
    packages=[
        package
        for name, folder in ROOTS.items()
        for package in (name, *(f"{name}.{sub}" for sub in find_packages(folder)))
    ],
)
