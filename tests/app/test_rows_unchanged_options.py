"""One rule decides what a resumed build may change: a field of ``BuildConfig`` marked
``Cli(rows_unchanged=True)`` cannot change a row and may differ; every other field decides the
dataset and is recorded in run.json. The real CLI with the bundled offline model."""

from __future__ import annotations

import json
from pathlib import Path

from evolinstruct.app.build.build import RESOLVED_STATE
from evolinstruct.app.build.config import BuildConfig, dataset_options
from evolinstruct.types.options import rows_unchanged
from tests.conftest import evol, numbered_seeds

# The decision, field by field: what can change what a row holds. The seeds (by content), the
# endpoint (base URL, --endpoint-id), the model and the roles are recorded as the build resolves them.
DECIDES_ROWS = {
    "domain", "seeds", "rounds", "schedule", "operation_weights", "model", "base_url", "endpoint_id", "role",
    "roles", "seed", "limit", "shard", "temperature", "top_p", "max_tokens", "difficulty", "quality",
    "evolve_answers", "options",
}
# How fast, how many at once, where, at what cost, what is shown, and the invocation's own record.
SAME_ROWS = {
    "out", "api_key", "price", "prices", "max_cost", "batch", "batch_size", "batch_window", "concurrency",
    "max_attempts", "timeout", "max_outage", "skip_invalid", "restart", "progress", "ray", "command", "call",
}
# What run.json holds for a build with the defaults: the keys of folders built before the rule.
RECORDED = {
    "domain", "rounds", "schedule", "operation_weights", "model", "seed", "limit", "shard", "temperature", "top_p",
    "max_tokens", "options", "endpoint", "seeds_sha256",
}


def test_every_field_either_decides_the_rows_or_is_marked_as_unable_to_change_one() -> None:
    fields = set(BuildConfig.model_fields)
    assert dataset_options() == DECIDES_ROWS
    assert rows_unchanged(BuildConfig) == SAME_ROWS
    assert DECIDES_ROWS | SAME_ROWS == fields and not DECIDES_ROWS & SAME_ROWS
    # An option recorded in its resolved form is still one that decides the rows.
    assert set(RESOLVED_STATE) <= dataset_options()


def build(seeds: Path, out: Path, *extra: str):  # type: ignore[no-untyped-def]
    return evol("build", "--seeds", str(seeds), "--out", str(out), "--rounds", "1", "--no-progress", *extra)


def test_a_resume_may_change_what_cannot_change_a_row_and_is_refused_a_changed_temperature(tmp_path: Path) -> None:
    seeds = numbered_seeds(tmp_path, 3, "Describe a harbour, number {i}.")
    out = tmp_path / "out"
    first = build(seeds, out)
    assert first.returncode == 0, first.stderr
    assert set(json.loads((out / "run.json").read_text(encoding="utf-8"))["state"]) == RECORDED
    dataset = (out / "dataset.jsonl").read_bytes()

    again = build(seeds, out, "--concurrency", "3", "--max-attempts", "2", "--timeout", "30", "--max-outage", "40",
                  "--skip-invalid")
    assert again.returncode == 0, again.stderr
    assert (out / "dataset.jsonl").read_bytes() == dataset

    refused = build(seeds, out, "--temperature", "0.5", "--concurrency", "5")
    assert refused.returncode == 2, refused.stderr
    flat = " ".join(refused.stderr.split())
    assert "was built with other settings (temperature was 1.0, now 0.5)." in flat, flat
    assert "Traceback" not in flat and (out / "dataset.jsonl").read_bytes() == dataset
