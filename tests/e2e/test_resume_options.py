"""Resuming a folder: an option that cannot change a row may change; a refusal names the changed
option, not the whole set; a folder of another domain says which one it was built with."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, evol

MATH_SEEDS = EXAMPLES / "seeds" / "math_gsm8k_style.jsonl"
CODE_SEEDS = EXAMPLES / "seeds" / "code_mbpp.jsonl"


@pytest.fixture(scope="module")
def math_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("resume") / "math"
    result = evol("build", "--domain", "math", "--seeds", str(MATH_SEEDS), "--out", str(out), "--rounds", "1",
                  "--limit", "2", "--no-progress")
    assert result.returncode == 0, result.stderr
    return out


def test_forgetting_the_domain_names_the_folders_domain(math_folder: Path) -> None:
    result = evol("build", "--seeds", str(MATH_SEEDS), "--out", str(math_folder), "--rounds", "1", "--limit", "2",
                  "--no-progress")
    assert result.returncode == 2, result.stderr
    flat = " ".join(result.stderr.split())
    assert "this folder was built with --domain math" in flat, flat
    assert "is missing" not in flat and "Traceback" not in flat


def test_a_refusal_names_the_changed_option_only(math_folder: Path) -> None:
    result = evol("build", "--domain", "math", "--seeds", str(MATH_SEEDS), "--out", str(math_folder),
                  "--rounds", "1", "--limit", "2", "--no-progress", "--rollouts", "3")
    assert result.returncode == 2, result.stderr
    flat = " ".join(result.stderr.split())
    assert "--rollouts was 8, now 3" in flat, flat
    assert "unlabelled_steps" not in flat and "step_labels" not in flat  # not the whole options dict


def test_the_sandbox_pool_size_may_change_on_resume(tmp_path: Path) -> None:
    out = tmp_path / "code"
    common = ("build", "--domain", "code", "--seeds", str(CODE_SEEDS), "--out", str(out), "--rounds", "1",
              "--limit", "1", "--no-progress")
    first = evol(*common, "--sandbox-workers", "1", timeout=600)
    assert first.returncode == 0, first.stderr
    dataset = (out / "dataset.jsonl").read_bytes()
    again = evol(*common, "--sandbox-workers", "2", timeout=600)
    assert again.returncode == 0, again.stderr
    assert (out / "dataset.jsonl").read_bytes() == dataset
