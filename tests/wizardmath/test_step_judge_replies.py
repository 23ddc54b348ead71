"""How a step judge's plain-text reply is read: a negated verdict is the opposite verdict, a reply
that states both or neither is unreadable (None, a missing label), never a guess; and the same
end to end, through ``evol build --unlabelled-steps judge`` against the loopback server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evolinstruct.testing import Rule
from tests.conftest import evol
from tests.e2e.test_math_build import BAKERY, BAKERY_SOLUTION, JUDGE, SEEDS
from wizardmath.judges import read_step_judgement

SAYS_CORRECT = [
    "Correct", "Correct.", "**Correct**", "The step is correct.", "This step is correct.",
    "Correct. The computation 3 * 4 = 12 is right.", "No mistakes, so it is correct.",
    "Correct, no errors.", "CORRECT",
]
SAYS_INCORRECT = [
    "Incorrect", "Incorrect.", "Not correct.", "not correct", "NOT CORRECT", "This step is not correct.",
    "The step isn't correct.", "It isn’t correct.", "It is not entirely correct.",
    "This step does not seem to be correct.", "The step is not fully correct",
    "This is not right: incorrect", "Incorrect. The correct value is 12.", "No, this is not correct.",
    "The step is incorrect.",
]
UNREADABLE = [
    "Hmm.", "It depends on the reading.", "Not incorrect.", "correct, not incorrect",
    "The step is correct, but the answer is incorrect.",
    "It concerns correct and incorrect steps, as I said before.",
    "There is no error and it is correct.",  # the negation may or may not bear on the verdict
    "I cannot say it is correct.", "Correct? Not correct.", "",
]


@pytest.mark.parametrize("reply", SAYS_CORRECT)
def test_replies_that_say_correct(reply: str) -> None:
    assert read_step_judgement(reply) == "correct"


@pytest.mark.parametrize("reply", SAYS_INCORRECT)
def test_replies_that_say_incorrect_or_negate_correct(reply: str) -> None:
    assert read_step_judgement(reply) == "incorrect"


@pytest.mark.parametrize("reply", UNREADABLE)
def test_ambiguous_replies_are_unreadable_not_guessed(reply: str) -> None:
    assert read_step_judgement(reply) is None




@pytest.mark.parametrize(
    ("step_reply", "labels", "process_reward"),
    [("Not correct.", [False] * 4, 0.0), ("Correct.", [True] * 4, 1.0),
     ("The step is correct, but the answer is incorrect.", [None] * 4, 0.5)],
)
def test_unlabelled_steps_judged_end_to_end(
    tmp_path: Path, loopback_llm_factory, step_reply: str, labels: list, process_reward: float
) -> None:
    """One evolved problem with one sample has no target answer, so its steps go to the judge."""
    rules = (
        Rule(contains="one step at a time", reply=step_reply),
        Rule(contains="Rate the problem below", reply=JUDGE),
        Rule(contains="#Original Instruction#\nA bakery sells muffins", reply=BAKERY),
        Rule(contains=f"Problem:\n{BAKERY}", reply=BAKERY_SOLUTION),
    )
    server = loopback_llm_factory(rules)
    out = tmp_path / "run"
    result = evol(
        "build", "--domain", "math", "--seeds", str(SEEDS), "--out", str(out), "--limit", "1",
        "--schedule", "up", "--unlabelled-steps", "judge",
        env={"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-loopback"},
    )
    assert result.returncode == 0, result.stderr
    rows = {row["id"]: row for row in map(json.loads, (out / "dataset.jsonl").read_text().splitlines())}
    evolved = rows["seed-0/r1"]
    steps = evolved["checks"]["process"]["steps"]
    assert [step["label"] for step in steps] == labels
    expected_source = "judge" if labels[0] is not None else None
    assert {step["label_source"] for step in steps} == {expected_source}
    assert evolved["scores"]["process_reward"] == process_reward
