"""Every prompt of the code domain, in our own words.

The evolving template follows WizardCoder: one template, "make the programming exercise a bit
harder", filled with one of five methods. Its rules never spell out the labels that frame the
given and rewritten exercise (a model tends to echo whatever the rules quote); they say "none of
the headings of this message" instead, and the ``template-leak`` filter catches the rest.
"""

from __future__ import annotations

from evolinstruct import GIVEN_LABEL, REWRITTEN_LABEL

EVOLVE_TEMPLATE = """\
You make programming exercises a little harder for capable AI assistants, while keeping them \
clear, self-contained and solvable by a competent programmer.

Keep to these rules:
- Keep the code, examples and input data of the exercise, and the name and parameters of any \
function it asks for, unless the method below itself requires changing them.
- Tests written for the exercise should still hold for the harder version wherever the method \
allows: extend the task rather than contradict it.
- Make it only a little harder: add about 10 to 20 words, plus any code the method asks for.
- Reply with the rewritten exercise alone: no solution, no explanation, no heading, and none of \
the headings of this message.

How to make it harder: {method}

{given}
{instruction}

{rewritten}
"""

# The five WizardCoder methods. Names are what ``--schedule`` and the dataset's ``operation`` use.
METHODS: dict[str, str] = {
    "add-constraints": "Add new constraints and requirements to the exercise, in about ten more words.",
    "rarer-requirement": "Replace a commonly used requirement of the exercise with a less common, "
    "more specific one.",
    "more-reasoning": "If the exercise can be solved in only a few logical steps, add requirements "
    "that need more steps of reasoning.",
    "erroneous-code": "Add a piece of erroneous Python code as a reference, to increase "
    "misdirection: a plausible attempt that does not solve the exercise correctly, in a fenced "
    "```python block, introduced as code that contains a mistake.",
    "complexity": "State a stricter time or space complexity requirement for the solution; do so "
    "only where a tighter bound fits the exercise naturally.",
}

RESPOND_TEMPLATE = """\
{instruction}

Write a complete, working Python solution. Put all of its code in one ```python block{signature}. \
The code must not read input or run a demo when it is imported; a short explanation may follow \
the code block."""

SIGNATURE_HINT = """\
 that defines {functions} (keep these names and parameters unless the task itself changes them)"""

TESTS_TEMPLATE = """\
Write tests for a Python solution of the programming task below.

Task:
{instruction}

The solution is used through these definitions:
{signatures}

Write 4 to 8 independent assert statements that check the behaviour the task asks for: ordinary \
cases first, then the edge cases the task mentions. Each assert calls the definitions above \
directly and compares with the exact expected value. No printing, no input, no randomness, no \
timing, no files or network. Work out every expected value carefully by hand.

Reply with one ```python block holding only the assert statements (and any import they need)."""

REVIEW_TEMPLATE = """\
A programming task was rewritten. The tests below were written for an earlier version of it. \
Decide which tests the rewritten task contradicts: those whose call is no longer valid or whose \
expected result the rewritten task changes. A test that merely does not cover a new \
requirement is not contradicted.

Rewritten task:
{instruction}

Tests:
{tests}

Answer with one line in exactly this form: "Contradicted: " followed by the numbers of the \
contradicted tests separated by commas, or "Contradicted: none"."""


def evolve_prompt(method: str, instruction: str) -> str:
    return EVOLVE_TEMPLATE.format(
        method=METHODS[method], instruction=instruction, given=GIVEN_LABEL, rewritten=REWRITTEN_LABEL
    )


def respond_prompt(instruction: str, signatures: list[str]) -> str:
    hint = ""
    if signatures:
        shown = ", ".join(f"`{signature}`" for signature in signatures)
        hint = SIGNATURE_HINT.format(functions=shown)
    return RESPOND_TEMPLATE.format(instruction=instruction, signature=hint)


def tests_prompt(instruction: str, signatures: list[str]) -> str:
    return TESTS_TEMPLATE.format(instruction=instruction, signatures="\n".join(signatures))


def review_prompt(instruction: str, tests: list[str]) -> str:
    numbered = "\n".join(f"{number}. {test}" for number, test in enumerate(tests, start=1))
    return REVIEW_TEMPLATE.format(instruction=instruction, tests=numbered)
