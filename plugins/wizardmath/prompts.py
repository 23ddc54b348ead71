"""Every prompt the math domain sends: evolving a problem up or down, solving it, completing a
solution from its first steps (rollouts), and the two judges (instruction quality, one step).

The evolving templates carry the project's shared labels, so the core's cleaner, the
``template-leak`` filter and the offline model treat math rewrites like every other domain's.
The rules text never quotes those labels: a model that reads a label in the rules tends to echo
it, so the rules say "none of the headings of this message" instead.

The judges' prompts never contain the rewriting labels, ``\\boxed`` or the equality judge's
answer words: the offline model picks its reply by those, and a judge prompt that looked like a
rewrite request would get a rewrite back.
"""

from __future__ import annotations

from typing import Mapping, Sequence

from evolinstruct import CREATED_LABEL, GIVEN_LABEL, REWRITTEN_LABEL, Message

UPWARD_TEMPLATE = """\
You write math problems for students. Rewrite the problem below so that it is a little harder \
to solve, using the method given.

Keep to these rules:
- The result must be a complete, well-posed problem with exactly one correct final answer, \
and its numbers must be consistent with each other.
- Keep every formula, table and given value that the method does not ask you to change.
- Add only 10 to 20 words to the problem.
- Do not solve it and do not hint at the answer.
- Reply with the rewritten problem alone: no explanation, no heading, and none of the headings \
of this message.

How to make it harder: {method}

{given}
{instruction}

{rewritten}
"""

SIMPLIFY_TEMPLATE = """\
You write math problems for students. Rewrite the problem below so that it is easier to solve, \
using the method given.

Keep to these rules:
- The result must be a complete, well-posed problem with exactly one correct final answer, \
and its numbers must be consistent with each other.
- Do not solve it and do not hint at the answer.
- Reply with the rewritten problem alone: no explanation, no heading, and none of the headings \
of this message.

How to make it easier: {method}

{given}
{instruction}

{rewritten}
"""

EASIER_TOPIC_TEMPLATE = """\
You write math problems for students. Read the problem below, then write a brand-new problem \
about a different area of mathematics (for example arithmetic, algebra, geometry, counting, \
probability, number theory or rates and percentages) that is easier to solve than this one.

Keep to these rules:
- The new problem must be complete and well-posed, with exactly one correct final answer, and \
its numbers must be consistent with each other.
- It must not reuse the story or the quantities of the problem below.
- Do not solve it and do not hint at the answer.
- Reply with the new problem alone: no explanation, no heading, and none of the headings of \
this message.

{given}
{instruction}

{created}
"""

UPWARD_METHODS: Mapping[str, str] = {
    "add-constraints": "Add one more condition or requirement that the answer has to satisfy, "
    "so that solving the problem takes more care.",
    "concretize": "Replace a general quantity, object or situation in the problem with a "
    "specific one, stated with concrete numbers, names or units.",
    "increase-reasoning": "If the problem can be solved in one or two steps, change it so that "
    "solving it takes several more steps of reasoning, for instance by making one of the given "
    "values something that has to be worked out first.",
}

SIMPLIFY_METHOD = (
    "Simplify the problem: remove a condition, use smaller or rounder numbers, or cut the number "
    "of steps needed, while it still asks for one definite answer."
)

RESPOND_TEMPLATE = """\
Solve the following math problem.

Work step by step and put each step on its own line. Write every calculation out as an \
equation with its result, such as 12 * 3 = 36, so that each step can be checked. Finish with \
one last line that gives the final answer in exactly this form:
The answer is \\boxed{{ANSWER}}

Problem:
{problem}
"""

CONTINUE_TEMPLATE = """\
Below are a math problem and the first steps of a solution to it. Continue the solution from \
where it stops: do not repeat or change the steps given, add the remaining steps, each on its \
own line, with every calculation written out as an equation with its result. Finish with one \
last line that gives the final answer in exactly this form:
The answer is \\boxed{{ANSWER}}

Problem:
{problem}

Steps so far:
{steps}
"""

STEP_JUDGE_TEMPLATE = """\
You check solutions to math problems one step at a time. Below are a problem, the steps of a \
solution written so far, and the next step of that solution.

Judge the next step only: is what it states mathematically true, and does it follow from the \
problem and the steps before it? Ignore style and wording.

Problem:
{problem}

Steps so far:
{previous}

Next step:
{step}

Reply with one word: Correct or Incorrect."""

INSTRUCTION_JUDGE_TEMPLATE = """\
You review math problems written for a training set of worked solutions. Rate the problem \
below on four criteria, each with a whole number from 1 (very poor) to 10 (excellent):
- definition: it says clearly what is given and what has to be found;
- precision: its quantities, units and wording are exact, so there is no doubt about what the \
answer should be;
- integrity: it is complete and consistent: nothing it needs is missing, nothing contradicts \
anything else, and it can be solved;
- difficulty: how much reasoning it asks of a good student (1: one trivial step, 10: hard \
competition level).

Problem:
{problem}

Reply with a JSON object and nothing else, for example:
{{"definition": 7, "precision": 8, "integrity": 9, "difficulty": 4}}"""

IRM_CRITERIA = ("definition", "precision", "integrity", "difficulty")


def _user(content: str) -> Sequence[Message]:
    return ({"role": "user", "content": content},)


def upward(method: str, problem: str) -> Sequence[Message]:
    return _user(
        UPWARD_TEMPLATE.format(
            method=UPWARD_METHODS[method], instruction=problem, given=GIVEN_LABEL, rewritten=REWRITTEN_LABEL
        )
    )


def simplify(problem: str) -> Sequence[Message]:
    return _user(
        SIMPLIFY_TEMPLATE.format(
            method=SIMPLIFY_METHOD, instruction=problem, given=GIVEN_LABEL, rewritten=REWRITTEN_LABEL
        )
    )


def easier_topic(problem: str) -> Sequence[Message]:
    return _user(EASIER_TOPIC_TEMPLATE.format(instruction=problem, given=GIVEN_LABEL, created=CREATED_LABEL))


def solve(problem: str) -> Sequence[Message]:
    return _user(RESPOND_TEMPLATE.format(problem=problem))


def continue_solution(problem: str, steps: Sequence[str]) -> Sequence[Message]:
    """Ask for the rest of a solution from its first steps (Math-Shepherd's completions)."""
    return _user(CONTINUE_TEMPLATE.format(problem=problem, steps="\n".join(steps)))


def judge_step(problem: str, previous: Sequence[str], step: str) -> Sequence[Message]:
    earlier = "\n".join(previous) if previous else "(none: this is the first step)"
    return _user(STEP_JUDGE_TEMPLATE.format(problem=problem, previous=earlier, step=step))


def judge_instruction(problem: str) -> Sequence[Message]:
    return _user(INSTRUCTION_JUDGE_TEMPLATE.format(problem=problem))
