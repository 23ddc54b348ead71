"""The ``general`` plugin: WizardLM's Evol-Instruct, written as a plugin of the core.

Six operations: five in-depth ones sharing one rewriting template (add constraints, deepen,
concretize, increase reasoning, complicate the input) and one in-breadth one that writes a new,
rarer instruction. Disabling it (``evol -p no:general``) removes only this domain: the
elimination rules and export formats belong to the essential ``core`` plugin.
"""

from __future__ import annotations

import random
from typing import Iterable, Sequence

from ..types.hookspecs import hookimpl
from ..types.records import Message, Sample
from ..types.registrations import Domain, Operation
from ..types.rewrite import CREATED_LABEL, GIVEN_LABEL, REWRITTEN_LABEL

IN_DEPTH_TEMPLATE = """\
You rewrite instructions so that capable AI assistants find them harder to handle, while a \
person could still understand and answer them.

Keep to these rules:
- Keep every non-text part of the original instruction (tables, code, formulas, input data) \
as it is.
- The rewrite must stay reasonable, answerable and self-contained.
- Add only 10 to 20 words to the original instruction.
- Reply with the rewritten instruction alone: no explanation, no heading, and none of the \
headings of this message.

How to make it harder: {method}

{given}
{instruction}

{rewritten}
"""

IN_BREADTH_TEMPLATE = """\
You write new instructions for AI assistants. Take the instruction below as inspiration and \
write a brand-new one that belongs to the same domain but is about a rarer topic. It should be \
about as long and as difficult as the original, reasonable, and answerable by a person.

Reply with the new instruction alone: no explanation, no heading, and none of the headings of \
this message.

{given}
{instruction}

{created}
"""

METHODS = {
    "add-constraints": "Add one more constraint or requirement to the instruction.",
    "deepen": "If the instruction asks about a particular issue, widen and deepen what it asks "
    "about that issue.",
    "concretize": "Replace general concepts in the instruction with more specific ones.",
    "increase-reasoning": "If the instruction can be answered with a few simple steps of thought, "
    "rewrite it so that it explicitly asks for reasoning in several steps.",
}

# complicate-input: the rewrite adds input data in one of these formats; each comes with a short
# example so the model sees what kind of data is meant.
DATA_FORMATS = {
    "XML": "<order id=\"1042\"><item sku=\"A-7\" qty=\"2\"/><item sku=\"C-1\" qty=\"1\"/></order>",
    "SQL": "Table `trips`: | id | city | km |\n|----|------|----|\n| 1 | Lyon | 12 |\n| 2 | Oslo | 7 |\n"
    "Query: SELECT city, SUM(km) FROM trips GROUP BY city;",
    "JSON": '{"sensor": "t-12", "readings": [21.4, 21.9, 22.3], "unit": "C"}',
    "HTML": "<table><tr><th>Plan</th><th>Price</th></tr><tr><td>Basic</td><td>$4</td></tr></table>",
    "shell command": "$ find logs/ -name '*.gz' -mtime +30 | xargs du -ch | tail -n 1",
    "Python code": "def moving_average(values, k):\n    return [sum(values[i:i + k]) / k for i in range(len(values) - k + 1)]",
}


def _user(content: str) -> Sequence[Message]:
    return ({"role": "user", "content": content},)


def in_depth(method: str) -> Operation:
    def prompt(sample: Sample, rng: random.Random) -> Sequence[Message]:
        return _user(
            IN_DEPTH_TEMPLATE.format(
                method=METHODS[method],
                instruction=sample.instruction,
                given=GIVEN_LABEL,
                rewritten=REWRITTEN_LABEL,
            )
        )

    return Operation(method, prompt, tags=("in-depth",), description=METHODS[method])


def _complicate_input(sample: Sample, rng: random.Random) -> Sequence[Message]:
    data_format = rng.choice(sorted(DATA_FORMATS))
    method = (
        f"Add input data in {data_format} format that the instruction must work with, for "
        f"example data like this:\n{DATA_FORMATS[data_format]}"
    )
    return _user(
        IN_DEPTH_TEMPLATE.format(
            method=method, instruction=sample.instruction, given=GIVEN_LABEL, rewritten=REWRITTEN_LABEL
        )
    )


def _in_breadth(sample: Sample, rng: random.Random) -> Sequence[Message]:
    return _user(
        IN_BREADTH_TEMPLATE.format(instruction=sample.instruction, given=GIVEN_LABEL, created=CREATED_LABEL)
    )


OPERATIONS = (
    *(in_depth(method) for method in METHODS),
    Operation(
        "complicate-input",
        _complicate_input,
        tags=("in-depth",),
        description="Add input data in a format such as XML, SQL, JSON, HTML, shell or code.",
    ),
    Operation(
        "in-breadth",
        _in_breadth,
        tags=("in-breadth",),
        description="Write a new, rarer instruction in the same domain, of similar length and difficulty.",
    ),
)

GENERAL = Domain(
    name="general",
    description="WizardLM Evol-Instruct: five in-depth operations and in-breadth evolution",
    operations=OPERATIONS,
)


@hookimpl
def evol_domains() -> Iterable[Domain]:
    yield GENERAL
