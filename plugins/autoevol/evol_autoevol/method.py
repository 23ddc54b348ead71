"""An evolving method: one prompt, with the instruction's placeholder, that asks the evol LLM to
rewrite an instruction; its file (``method.json``) holds the text and the history that chose it."""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, computed_field

from evolinstruct import Cli, DomainOptions, UsageError

PLACEHOLDER = "{instruction}"
"""Where a method puts the instruction it evolves (replaced as it is; other braces stay)."""

FORMAT = "evol-autoevol-method/1"

INITIAL_METHOD = """\
You are an instruction rewriter. Make the instruction below more complex, so that even a strong \
assistant has to think harder to answer it, while it stays one clear, answerable instruction.

Step 1: List several ways this particular instruction could be made more complex (add a \
constraint, ask for reasoning in steps, make it more specific, widen it to a related case, add \
an input it must work with...). Avoid ways that only add words.
Step 2: Plan: choose the ways from the list that suit it best and decide how to combine them.
Step 3: Rewrite the instruction following the plan. Keep everything the instruction asked for; \
add no more than 10 to 20 words.
Step 4: Review the rewrite: it must not be the instruction unchanged, must not answer it, must \
not drop a requirement and must read as a request a person would make. Fix what fails.

Do the four steps in your head and reply with the final rewritten instruction alone, without \
headings or comments.

Instruction:
{instruction}
"""
"""The universal method the optimization starts from: list ways to make the instruction more
complex, plan, rewrite, review the rewrite."""

_STEP = re.compile(r"^\s*(?:step\s*\d+|\d+[.)]|[-*•])\s*\S", re.IGNORECASE | re.MULTILINE)
_FENCE = re.compile(r"^```[a-zA-Z]*\n(.*?)\n```$", re.DOTALL)


def digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def method_problem(text: str) -> str | None:
    """Why ``text`` cannot be used as a method, or None when it can."""
    if PLACEHOLDER not in text:
        return f"the method lost the instruction placeholder {PLACEHOLDER}"
    steps = len(_STEP.findall(text))
    if steps < 2:
        return f"not a method: it lists {steps} step(s); a method gives the rewriter at least two steps to follow"
    if len(text.replace(PLACEHOLDER, "").split()) < 25:
        return "not a method: fewer than 25 words besides the placeholder"
    return None


def method_from_reply(reply: str) -> str:
    """The method inside an optimizer's reply: surrounding blank space and one code fence removed."""
    text = reply.strip()
    fenced = _FENCE.match(text)
    return (fenced.group(1) if fenced else text).strip() + "\n"


@dataclass(frozen=True)
class Method:
    text: str
    name: str
    """What a row's provenance calls it: the file it came from, or ``initial``."""

    @property
    def digest(self) -> str:
        return digest(self.text)

    def prompt(self, instruction: str) -> str:
        return self.text.replace(PLACEHOLDER, instruction)


INITIAL = Method(INITIAL_METHOD, "initial")


def load_method(path: Path) -> Method:
    """The chosen method of a ``method.json`` (edited by hand or not); a clear error otherwise."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise UsageError(f"{path}: cannot read the method file ({error.strerror})") from None
    except json.JSONDecodeError as error:
        raise UsageError(f"{path}: line {error.lineno}: not JSON ({error.msg})") from None
    text = document.get("method") if isinstance(document, dict) else None
    if not isinstance(text, str):
        raise UsageError(f"{path}: field 'method': a method file holds the method's text as a string")
    problem = method_problem(text)
    if problem is not None:
        raise UsageError(f"{path}: field 'method': {problem}")
    return Method(text, str(path))


def write_json(path: Path, document: Any) -> None:
    """``path`` holds ``document``, written whole or not at all (indented: people read and edit it)."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    temporary.replace(path)


def _method_file(value: Any) -> Method:
    if isinstance(value, Method):
        return value
    if not isinstance(value, (str, os.PathLike)) or not str(value):
        raise ValueError("must be the path of a method file (the method.json of evol method optimize)")
    try:
        # Absolute: the rows, the report and the card name the file wherever they are read from.
        return load_method(Path(value).absolute())
    except UsageError as error:
        raise ValueError(str(error)) from None


MethodFile = Annotated[Method, BeforeValidator(_method_file), PlainSerializer(lambda method: method.name, return_type=str)]
"""A method file, read and checked when the option is: the run holds its text, the record its path."""


class AutoEvolOptions(DomainOptions):
    """The option ``evol build --method`` adds to every domain (operation ``auto`` reads it)."""

    method: Annotated[MethodFile | None, Cli(metavar="PATH", path=True, default_text="the initial (universal) method")] = None
    """autoevol: the evolving method of operation auto: a method.json of `evol method optimize` (its 'method'
    text, which must keep {instruction})."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def method_sha256(self) -> str | None:
        """The method text's digest: recorded with the path, so a resumed build whose method file
        was edited is refused like one given another file."""
        return None if self.method is None else self.method.digest

    @property
    def evolving_method(self) -> Method:
        return self.method or INITIAL


OPTIMIZER_DOMAIN = "autoevol"
STAGE_FIELD = "autoevol_stage"
TEMPERATURE_FIELD = "autoevol_temperature"
