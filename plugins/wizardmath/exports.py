"""Process-reward training data from a math build, in the two layouts trainers read.

``evol export OUT --format stepwise`` writes ``stepwise.jsonl``, TRL's stepwise supervision
layout (what ``PRMTrainer`` reads)::

    {"id": ..., "prompt": <problem>, "completions": [<step>, ...], "labels": [true, false, ...]}

``evol export OUT --format prm`` writes ``prm.jsonl``, Math-Shepherd's layout::

    {"id": ..., "task": "math",
     "input": "<problem> Step 1: <step> ки\\nStep 2: <step> ки\\n...",
     "label": "<problem> Step 1: <step> +\\nStep 2: <step> -\\n..."}

``input`` holds the marker ``ки`` (Math-Shepherd's step tag, which never occurs in English or
LaTeX text) after each labelled step; ``label`` is the same text with each marker replaced by
``+`` or ``-``. A trainer reads the model's prediction at each marker.

Both come from the labels the build gave each step (``wizardmath.labels``: sympy's false
claims, the solution's outcome, rollouts, the step judge; never sympy's "claims true" alone):

- a solution ends at its first bad step: what follows a mistake is not labelled (PRM800K's
  convention), so the last label of a row may be the only false one;
- a step without a label is handled as the build's ``--unlabelled-steps`` said: ``skip`` leaves
  the solution out; ``drop`` keeps its text, joined to the next labelled step (so the solution
  reads whole) but without a label of its own, and cuts unlabelled steps at the end; ``judge``
  had the step judge label it, and leaves the solution out where the judge gave no verdict;
- a row without any labelled step, a row whose text already contains the marker, and a row of
  another domain are left out.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from evolinstruct import Exporter

MARKER = "ки"
GOOD, BAD = "+", "-"
_NUMBERED = re.compile(r"^\s*step\s*\d+\s*[:.)]", re.IGNORECASE)


def labelled_steps(row: Mapping[str, Any]) -> list[tuple[str, bool]] | None:
    """(text, label) per labelled step of a dataset row by the rules above; None when the row
    yields none."""
    if row.get("domain") != "math":
        return None
    process = (row.get("checks") or {}).get("process") or {}
    steps = process.get("steps") or []
    policy = process.get("unlabelled_steps", "skip")
    out: list[tuple[str, bool]] = []
    pending: list[str] = []
    for step in steps:
        text = str(step.get("text", ""))
        label = step.get("label")
        if MARKER in text:
            return None
        if not isinstance(label, bool):
            if policy != "drop":
                return None
            pending.append(text)
            continue
        out.append(("\n".join([*pending, text]), label))
        pending = []
        if not label:
            break
    if not out or MARKER in str(row.get("instruction") or ""):
        return None
    return out


def stepwise_row(row: Mapping[str, Any]) -> dict[str, Any] | None:
    steps = labelled_steps(row)
    if steps is None:
        return None
    return {"id": row.get("id"), "prompt": row.get("instruction") or "",
            "completions": [text for text, _ in steps], "labels": [label for _, label in steps]}


def shepherd_pair(problem: str, steps: Sequence[str], labels: Sequence[str]) -> tuple[str, str]:
    """(input, label): the problem, then each step numbered and followed by the marker, in
    ``input``; each marker replaced by the step's label in ``label``."""
    lines = []
    for number, text in enumerate(steps, start=1):
        flat = " ".join(text.split())  # one line per step: the newline separates steps
        lines.append(flat if _NUMBERED.match(flat) else f"Step {number}: {flat}")
    marked = "\n".join(f"{line} {MARKER}" for line in lines)
    labelled = "\n".join(f"{line} {label}" for line, label in zip(lines, labels))
    head = " ".join(problem.split())
    return f"{head} {marked}", f"{head} {labelled}"


def prm_row(row: Mapping[str, Any]) -> dict[str, Any] | None:
    steps = labelled_steps(row)
    if steps is None:
        return None
    given, labelled = shepherd_pair(str(row.get("instruction") or ""), [text for text, _ in steps],
                                    [GOOD if label else BAD for _, label in steps])
    return {"id": row.get("id"), "task": "math", "input": given, "label": labelled}


def _writer(make_row):
    def write(rows: Iterable[Mapping[str, Any]], output: Path) -> int:
        written = 0
        with output.open("w", encoding="utf-8") as handle:
            for row in rows:
                record = make_row(row)
                if record is not None:
                    handle.write(json.dumps(record, ensure_ascii=False) + "\n")
                    written += 1
        return written

    return write


LABELLED_STEPS = ("math rows whose solution steps have labels (checks.process.steps, which an "
                  "evol build --domain math writes)")

write_prm = _writer(prm_row)
write_stepwise = _writer(stepwise_row)

PRM = Exporter(
    "prm",
    write_prm,
    "prm.jsonl",
    f"Process-reward data in the Math-Shepherd layout: each labelled step followed by {MARKER!r} "
    "in input, and by + or - in label.",
    gives_records_from=LABELLED_STEPS,
)
STEPWISE = Exporter(
    "stepwise",
    write_stepwise,
    "stepwise.jsonl",
    "Process-reward data in TRL's stepwise supervision layout: prompt, completions (the steps), "
    "labels (true/false per step).",
    gives_records_from=LABELLED_STEPS,
)
