"""The bundled offline model: placeholder text that drives the whole pipeline and says what it is.

``evol build`` falls back to it when no endpoint is configured, so it has to answer every kind
of request the engine sends in a way that keeps samples moving: a rewrite request gets the
original instruction plus a sentence (so an evolution differs from its parent and survives the
elimination filters), the equality judge hears "Not Equal", and an answer request gets a
placeholder answer long enough and wordy enough not to be eliminated. Nothing here pretends to be
a model: every answer starts with ``[offline placeholder answer]``.

The code and math domains check what they keep (code runs against tests, a problem needs a final
answer), so for their requests the model writes exercises of its own (exercises.py): a Python
function of its own with tests it passes and a wrong version for an erroneous-code rewrite, and
arithmetic word problems it can solve step by step. It recognises those requests by the domains'
prompt wording, quoted below.

All choices are made from a hash of the request, never from a shared RNG, so the same request
gets the same text in any order and at any concurrency.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import TYPE_CHECKING, Any

from ..types.rewrite import CREATED_LABEL, GIVEN_LABEL, REWRITTEN_LABEL, TEMPLATE_LABELS, leaks_template
from .exercises import function_for, function_named_in, new_problem, read_problem, wrong_version

if TYPE_CHECKING:
    from .requests import ChatRequest

ANSWER_MARKER = "[offline placeholder answer]"
PLACEHOLDER_CODE = "```python\ndef solution(*args):\n    raise NotImplementedError\n```"

# The given instruction runs from its label to the next label line ("#Rewritten Instruction#:").
_GIVEN = re.compile(re.escape(GIVEN_LABEL) + r"[ \t]*:?[ \t]*(.*?)(?=^[ \t]*#[^#\n]{1,60}#|\Z)", re.S | re.M)
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]{3,}")

# Each added sentence has 10 to 20 words whatever fills its slot (the paper's rule for in-depth
# evolving); the slot words make many distinct sentences from few templates.
_ADDED = (
    "Also explain how the result would change if the {noun} were twice as large.",
    "Additionally, justify each step briefly and state any assumption you make about the {noun}.",
    "Make sure the answer also covers one edge case involving an empty or missing {noun}.",
    "Include a short comparison with an alternative approach and name its main {quality} trade-off.",
    "Keep the explanation under two hundred words and discuss the most important {noun} first.",
    "Then describe how you would verify the result using a small {noun} as a worked example.",
    "Present the final result as a numbered list ordered by {quality} from highest to lowest.",
    "Consider also how the answer should adapt when the {noun} comes from an unreliable source.",
    "State clearly which {noun} limits the approach and how {quality} would suffer without it.",
    "Finish with one sentence that summarises the trade-off between {quality} and simplicity for this {noun}.",
)
_NOUNS = ("input", "dataset", "value", "constraint", "measurement", "list", "record", "parameter",
          "sample", "schedule", "budget", "deadline")
_QUALITIES = ("cost", "accuracy", "speed", "clarity", "risk", "memory", "reliability", "fairness")

_CREATED = (
    "Write a short guide for beginners that explains {subject} with one concrete example.",
    "Design a practical exercise about {subject} and describe how to check a solution to it.",
    "Compare two common ways of dealing with {subject} and recommend one for a small team.",
    "Create a checklist that helps someone review work involving {subject} before sharing it.",
    "Explain a frequent misconception about {subject} and show how to correct it step by step.",
    "Describe a realistic situation in which {subject} matters and list three decisions it requires.",
)
_FALLBACK_SUBJECT = "planning a small everyday task"
_FALLBACK_INSTRUCTION = "Describe how to plan a small everyday task step by step."

_ANSWER_SENTENCES = (
    "A real answer would begin by restating the goal in plain terms and listing what is already known.",
    "It would then work through the problem step by step and check every intermediate result.",
    "Where several approaches exist, it would compare them briefly and explain which one fits best.",
    "Concrete examples would make the reasoning easier to follow and easier to verify.",
    "It would close with a short summary of the outcome and mention any limits or open questions.",
    "Numbers, names and details in this paragraph are illustrative and carry no meaning.",
    "Point the build at a real endpoint with OPENAI_BASE_URL to obtain genuine responses.",
)

# Words that say nothing about a topic; dropping them keeps subjects readable.
_DULL = frozenset(
    """about above after again against also answer because before being below between both could
    describe does doing down during each explain few from further give given have having here how
    into itself just like more most much must need only other over please same should some such
    than that their them then there these they this those through under until very want what when
    where which while will with within would write your original rewritten created instruction
    instructions prompt prompts following""".split()
)


# How the code and math domains word their requests (plugins/wizardcoder/prompts.py,
# plugins/wizardmath/prompts.py): the stage a request belongs to is read from these.
CODE_RESPOND = "Write a complete, working Python solution. Put all of its code in one ```python block"
CODE_TESTS = "Write tests for a Python solution of the programming task below."
CODE_REVIEW = 'Answer with one line in exactly this form: "Contradicted: '
CODE_ERRONEOUS = "Add a piece of erroneous Python code as a reference"
MATH_EVOLVE = "You write math problems for students."
MATH_EASIER = "so that it is easier to solve"
MATH_SOLVE = "Solve the following math problem."
MATH_CONTINUE = "Below are a math problem and the first steps of a solution to it."


def offline_reply(request: ChatRequest) -> str:
    """The offline model's reply to a chat request (deterministic in the request and choice)."""
    text = request.last_user_message
    digest = hashlib.sha256(f"{request.key}:{request.choice}".encode()).digest()
    if request.response_format is not None:
        # The equality judge hears "Not Equal" in the asked shape too, for the same reason.
        prefer = ("Not Equal",) if "Not Equal" in text else ()
        return _structured(request.response_format, text, digest, prefer)
    domain_reply = _code_reply(text, digest) or _math_reply(text, digest)
    if domain_reply is not None:
        return domain_reply
    if REWRITTEN_LABEL in text:
        return _evolve_in_depth(_given_instruction(text), digest)
    if CREATED_LABEL in text:
        return _evolve_in_breadth(_given_instruction(text), digest)
    if "Not Equal" in text:
        # The equality judge: saying the evolution adds something keeps every candidate alive.
        return "Not Equal"
    return _placeholder_answer(text, digest)


def _code_reply(text: str, digest: bytes) -> str | None:
    """A code domain request answered with the offline model's own function, or None."""
    if CODE_RESPOND in text:
        function = function_for(text, digest[6])
        note = (f"{ANSWER_MARKER} The bundled offline model of evolinstruct cannot solve this task. It writes "
                f"one of its own small functions instead, {function.name}, so that the sandbox, the tests "
                f"and the filters have real code to run. Point the build at a real endpoint with "
                f"OPENAI_BASE_URL to obtain genuine solutions.")
        return f"{note}\n\n```python\n{function.code}```"
    if CODE_TESTS in text:
        definitions = text.partition("The solution is used through these definitions:")[2]
        function = function_named_in(definitions)
        if function is None:  # not a function of its own: it cannot know what to test
            return _placeholder_answer(text, digest)
        return "```python\n" + "\n".join(function.tests) + "\n```"
    if CODE_REVIEW in text:
        return "Contradicted: none"
    if REWRITTEN_LABEL in text and CODE_ERRONEOUS in text:
        given = _given_instruction(text)
        function = function_for(given, digest[6])
        wrong = wrong_version(function, given, digest[7])
        return (f"{given}\n\nThe following Python code contains a mistake; use it as a reference for "
                f"{function.name}:\n\n```python\n{wrong}```")
    return None


def _math_reply(text: str, digest: bytes) -> str | None:
    """A math domain request answered with a word problem of the offline model's own, or None."""
    if MATH_EVOLVE in text and (REWRITTEN_LABEL in text or CREATED_LABEL in text):
        own = read_problem(_given_instruction(text))
        if CREATED_LABEL in text:
            return new_problem(digest, 1).text()
        if MATH_EASIER in text:
            return (own.simpler() if own is not None and own.steps else new_problem(digest, 1)).text()
        return (own.harder(digest) if own is not None else new_problem(digest, 2)).text()
    if MATH_SOLVE in text or MATH_CONTINUE in text:
        problem_text = text.partition("Problem:")[2].partition("Steps so far:")
        problem = read_problem(problem_text[0])
        if problem is None:
            return None  # not one of its own problems: the placeholder answer
        lines = problem.solution()
        if MATH_CONTINUE in text:
            given = [line for line in problem_text[2].splitlines() if line.strip()]
            lines = lines[len(given):] or lines[-1:]
        return "\n".join(lines)
    return None


def _given_instruction(text: str) -> str:
    found = _GIVEN.search(text)
    given = found.group(1).strip() if found else ""
    for label in TEMPLATE_LABELS:
        given = given.replace(label, "")
    return given.strip() or _FALLBACK_INSTRUCTION


def _evolve_in_depth(given: str, digest: bytes) -> str:
    template = _ADDED[digest[0] % len(_ADDED)]
    sentence = template.format(noun=_NOUNS[digest[1] % len(_NOUNS)], quality=_QUALITIES[digest[2] % len(_QUALITIES)])
    if "\n" in given:  # keep code blocks and tables intact: the sentence goes after them
        return f"{given}\n\n{sentence}"
    if given[-1] not in ".?!:;)":
        given += "."
    return f"{given} {sentence}"


def _evolve_in_breadth(given: str, digest: bytes) -> str:
    template = _CREATED[digest[3] % len(_CREATED)]
    return template.format(subject=_subject(given, digest))


def _subject(text: str, digest: bytes) -> str:
    words: list[str] = []
    for word in _WORD.findall(text):
        lowered = word.lower().strip("'-")
        if lowered in _DULL or lowered in words or len(lowered) < 4:
            continue
        words.append(lowered)
    if not words:
        return _FALLBACK_SUBJECT
    # Rotate by the hash so that two evolutions of one instruction pick different topics.
    start = digest[4] % len(words)
    picked = (words[start:] + words[:start])[:3]
    subject = picked[0] if len(picked) == 1 else ", ".join(picked[:-1]) + " and " + picked[-1]
    return _FALLBACK_SUBJECT if leaks_template(subject) else subject


def _placeholder_answer(text: str, digest: bytes) -> str:
    subject = _subject(text, digest)
    header = (
        f"{ANSWER_MARKER} This text comes from the bundled offline model of evolinstruct, "
        f"which is not a language model and did not read the request closely. "
        f"The request appears to concern {subject}."
    )
    order = sorted(range(len(_ANSWER_SENTENCES)), key=lambda i: digest[8 + i])
    body = [header]
    words = len(header.split())
    target = 60 + digest[5] % 40  # between 60 and 99 words of prose, then stop at a sentence end
    for index in order:
        sentence = _ANSWER_SENTENCES[index]
        if words >= target or words + len(sentence.split()) > 120:
            break
        body.append(sentence)
        words += len(sentence.split())
    answer = " ".join(body)
    lowered = text.lower()
    if "```python" in lowered or "python function" in lowered:
        answer += "\n\n" + PLACEHOLDER_CODE
    if "\\boxed" in text:
        answer += "\n\n\\boxed{0}"
    return answer


def _structured(response_format: dict[str, Any], text: str, digest: bytes, prefer: tuple[Any, ...] = ()) -> str:
    """A JSON reply that fits the requested schema, as an endpoint with structured output gives.

    Values are placeholders chosen from the request's hash (numbers inside the schema's bounds,
    an enum value...), so a judge asked by the offline model gets a well-formed answer that says
    nothing about the instruction. An enum that offers one of ``prefer`` answers with it.
    """
    schema = (response_format.get("json_schema") or {}).get("schema")
    if response_format.get("type") != "json_schema" or not isinstance(schema, dict):
        return json.dumps({"text": _placeholder_answer(text, digest)})
    return json.dumps(_instance(schema, digest, 0, prefer), ensure_ascii=False)


def _instance(schema: dict[str, Any], digest: bytes, depth: int, prefer: tuple[Any, ...] = ()) -> Any:
    if "enum" in schema and schema["enum"]:
        preferred = [value for value in schema["enum"] if value in prefer]
        if preferred:
            return preferred[0]
        return schema["enum"][digest[depth % len(digest)] % len(schema["enum"])]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        properties = schema.get("properties") or {}
        return {
            name: _instance(sub, digest, depth + index + 1, prefer)
            for index, (name, sub) in enumerate(properties.items())
            if isinstance(sub, dict)
        }
    if kind == "array":
        items = schema.get("items") if isinstance(schema.get("items"), dict) else {"type": "string"}
        count = max(int(schema.get("minItems") or 1), 1)
        return [_instance(items, digest, depth + i + 1, prefer) for i in range(count)]
    if kind in ("integer", "number"):
        low = schema.get("minimum", 0)
        high = schema.get("maximum", low + 10)
        value = low + digest[depth % len(digest)] % (int(high - low) + 1) if high >= low else low
        return int(value) if kind == "integer" else float(value)
    if kind == "boolean":
        return bool(digest[depth % len(digest)] % 2)
    if kind == "null":
        return None
    return "offline placeholder"
