"""``evol export DIR --format prm``: process-reward training data in the Math-Shepherd layout.

One JSON line per math sample whose solution was checked step by step::

    {"id": ..., "task": "math",
     "input": "<problem> Step 1: <step> ки\\nStep 2: <step> ки\\n...",
     "label": "<problem> Step 1: <step> +\\nStep 2: <step> -\\n..."}

``input`` is the problem followed by the solution with the marker ``ки`` (Math-Shepherd's own
step tag, chosen because it never occurs in English or LaTeX text) after each step; ``label`` is
the same text with each marker replaced by ``+`` (a good step) or ``-`` (a bad one). A trainer
reads the model's prediction at each marker position.

How a step is labelled:
1. A step after the first ``-`` step is ``-``: it builds on a wrong value, so it cannot lead to
   the right answer (Math-Shepherd's notion of a good step).
2. A step sympy checked is ``+`` when correct and ``-`` when incorrect.
3. A step sympy could not check takes the LLM step judge's verdict when ``--step-judge`` was on
   and the judge answered; otherwise the standing of the final answer: ``+`` when it is confirmed
   (equal to the reference answer, or chosen by a strict majority of at least two sampled
   solutions), ``-`` when it is refuted (not equal to the reference, or missing).
4. When some step would still need a label and the final answer is neither confirmed nor refuted
   (an evolved problem answered with ``--samples 1``), the sample is left out: a guessed label
   teaches a reward model noise. So is a sample whose text already contains the marker.
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


def step_labels(steps: Sequence[Mapping[str, Any]], answer_verified: bool | None) -> list[str] | None:
    """``+``/``-`` per step by the rules in the module's docstring; None when one is unknowable."""
    labels: list[str] = []
    went_wrong = False
    for step in steps:
        if went_wrong:
            labels.append(BAD)
            continue
        verdict = step.get("verdict")
        if verdict == "unverifiable":
            verdict = step.get("judge") or None
        if verdict not in ("correct", "incorrect"):
            if answer_verified is None:
                return None
            verdict = "correct" if answer_verified else "incorrect"
        label = GOOD if verdict == "correct" else BAD
        went_wrong = label == BAD
        labels.append(label)
    return labels


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
    """The Math-Shepherd record of one dataset row, or None when it has none (see above)."""
    if row.get("domain") != "math":
        return None
    checks = row.get("checks") or {}
    process = checks.get("process") or {}
    steps = process.get("steps") or []
    if not steps:
        return None
    problem = row.get("instruction") or ""
    texts = [str(step.get("text", "")) for step in steps]
    if MARKER in problem or any(MARKER in text for text in texts):
        return None
    labels = step_labels(steps, (checks.get("answer") or {}).get("verified"))
    if labels is None:
        return None
    given, labelled = shepherd_pair(problem, texts, labels)
    return {"id": row.get("id"), "task": "math", "input": given, "label": labelled}


def write_prm(rows: Iterable[Mapping[str, Any]], output: Path) -> None:
    with output.open("w", encoding="utf-8") as handle:
        for row in rows:
            record = prm_row(row)
            if record is not None:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")


PRM = Exporter(
    "prm",
    write_prm,
    "prm.jsonl",
    f"Process-reward training data in the Math-Shepherd layout: each step followed by {MARKER!r} "
    "in input, and by + or - in label.",
)
