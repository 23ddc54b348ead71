"""The tests run in a fresh clone: they read only tests/data, whose files are all accounted for."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from .conftest import REPO, TEST_DATA

TESTS = REPO / "tests"
# A path into the ``shared`` folder beside the checkout, however it is spelt: "../shared",
# REPO.parent / "shared", ".../shared/data".
_SHARED = re.compile(r"""\.\./shared\b|parent\s*/\s*["']shared["']|/shared/data""")


def test_no_test_reads_a_folder_beside_the_checkout() -> None:
    readers = {
        str(path.relative_to(REPO)): line.strip()
        for path in TESTS.rglob("*.py")
        for line in path.read_text(encoding="utf-8").splitlines()
        if _SHARED.search(line) and path != Path(__file__)
    }
    assert readers == {}


def test_every_shipped_file_is_described_with_its_licence() -> None:
    readme = (TEST_DATA / "README.md").read_text(encoding="utf-8")
    licences = {path.name for path in (TEST_DATA / "LICENSES").iterdir()}
    shipped = sorted(path.name for path in TEST_DATA.iterdir() if path.is_file() and path.name != "README.md")
    assert shipped, "tests/data holds no data"
    for name in shipped:
        row = next((line for line in readme.splitlines() if line.startswith(f"| `{name}` |")), None)
        assert row is not None, f"{name} is not described in tests/data/README.md"
        named = set(re.findall(r"LICENSES/([\w.-]+)", row))
        assert named <= licences and (named or "this project's licence" in row), (name, row)


def test_no_code_alpaca_is_shipped() -> None:
    """Code Alpaca is CC BY-NC: neither its file nor a renamed copy of its JSON array ships."""
    for path in TEST_DATA.rglob("*"):
        assert "alpaca" not in path.name.lower(), path
        if path.suffix == ".json":
            raise AssertionError(f"{path}: tests/data ships JSON Lines only")


def test_compressed_files_are_gzip_and_large_files_are_compressed() -> None:
    for path in TEST_DATA.iterdir():
        if path.suffix == ".gz":
            assert gzip.decompress(path.read_bytes()).count(b"\n") > 0, path
        elif path.is_file() and path.name != "README.md":
            assert path.stat().st_size < 100_000, f"{path} is large: ship it gzip-compressed"
