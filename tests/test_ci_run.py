""".ci/run runs the README's test command in a copy of the checkout with nothing beside it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from .conftest import REPO

CI_RUN = REPO / ".ci" / "run"


def prepare(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EVOL_CI_ROOT": str(root)}
    return subprocess.run(["bash", str(CI_RUN), "--prepare-only"], env=env, capture_output=True, text=True, timeout=300)


def test_the_copy_has_the_checkout_and_nothing_beside_it(tmp_path: Path) -> None:
    done = prepare(tmp_path)
    assert done.returncode == 0, done.stderr
    copy = Path(done.stdout.strip().splitlines()[-1])
    assert copy.parent == tmp_path and copy.name == REPO.name
    assert sorted(p.name for p in tmp_path.iterdir()) == [REPO.name]  # nothing beside it
    readme_command = re.search(r"^    (bash scripts/setup\.sh && python3 -m pytest.*)$", (REPO / "README.md").read_text(), re.M)
    assert readme_command is not None and f"in {copy}: {readme_command.group(1)}" in done.stdout
    for part in ("tests/data/HumanEval.jsonl.gz", "tests/data/LICENSES", "scripts/setup.sh", "pyproject.toml", ".ci/run"):
        assert (copy / part).exists(), part
    assert not list(copy.rglob("__pycache__"))


def test_the_copy_passes_the_tests_that_read_data(tmp_path: Path) -> None:
    copy = Path(prepare(tmp_path).stdout.strip().splitlines()[-1])
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_shipped_data.py",
         "tests/wizardcoder/test_languages.py", "tests/wizardmath/test_answers.py::test_math_verify_pairs_accuracy_at_least_math_verify"],
        cwd=copy, env=env, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert " passed" in done.stdout and "skipped" not in done.stdout


def test_a_shared_folder_beside_the_copy_is_refused(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    done = prepare(tmp_path)
    assert done.returncode == 1 and "shared exists" in done.stderr


def test_a_copy_without_git_copies_itself_whole(tmp_path: Path) -> None:
    # CI runs these tests inside the copy, which has no .git: .ci/run there lists the files itself.
    copy = Path(prepare(tmp_path / "first").stdout.strip().splitlines()[-1])
    assert not (copy / ".git").exists()
    (copy / "core" / "__pycache__").mkdir(exist_ok=True)
    (copy / "core" / "__pycache__" / "left.pyc").write_bytes(b"build product")
    again = subprocess.run(["bash", str(copy / ".ci" / "run"), "--prepare-only"], env={**os.environ, "EVOL_CI_ROOT": str(tmp_path / "second")},
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    second = Path(again.stdout.strip().splitlines()[-1])

    def files(root: Path) -> list[str]:
        return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts)

    assert files(second) == files(copy) and len(files(copy)) > 100
    assert not list(second.rglob("__pycache__"))
