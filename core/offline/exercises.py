"""What the offline model can really write and check: small Python functions and arithmetic problems.

A code or math domain eliminates placeholder text, rightly: an answer with no code that passes
tests, a problem with no final answer, is no sample. So that the bundled offline model still
drives every stage of those domains, it knows a few exercises of its own, and only those: a
handful of Python functions, each with tests that pass and wrong versions that fail them, and
arithmetic word problems it builds from a chain of steps and can solve step by step. It never
pretends to solve the task it was given: the function it writes is one of its own, named
``offline_...``, and its answers say so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class StandInFunction:
    """A Python function the offline model writes, with tests it passes and wrong versions."""

    name: str
    code: str  # the whole definition
    tests: tuple[str, ...]  # assert statements the code passes and a constant body fails
    wrong: tuple[str, ...]  # definitions of the same name that fail at least one test


FUNCTIONS: tuple[StandInFunction, ...] = (
    StandInFunction(
        "offline_running_total",
        "def offline_running_total(values):\n    totals = []\n    total = 0\n    for value in values:\n"
        "        total += value\n        totals.append(total)\n    return totals\n",
        ("assert offline_running_total([1, 2, 3]) == [1, 3, 6]", "assert offline_running_total([]) == []",
         "assert offline_running_total([5]) == [5]", "assert offline_running_total([2, -2, 4]) == [2, 0, 4]"),
        ("def offline_running_total(values):\n    return list(values)\n",
         "def offline_running_total(values):\n    return [sum(values)] * len(values)\n",
         "def offline_running_total(values):\n    return [sum(values[:i]) for i in range(len(values))]\n"),
    ),
    StandInFunction(
        "offline_count_words",
        "def offline_count_words(text):\n    return len(text.split())\n",
        ('assert offline_count_words("a b c") == 3', 'assert offline_count_words("") == 0',
         'assert offline_count_words("  one  ") == 1', 'assert offline_count_words("x\\ny  z") == 3'),
        ('def offline_count_words(text):\n    return len(text.split(" "))\n',
         "def offline_count_words(text):\n    return text.count(\" \") + 1\n",
         "def offline_count_words(text):\n    return len(text)\n"),
    ),
    StandInFunction(
        "offline_clamp",
        "def offline_clamp(value, low, high):\n    return max(low, min(value, high))\n",
        ("assert offline_clamp(5, 0, 10) == 5", "assert offline_clamp(-3, 0, 10) == 0",
         "assert offline_clamp(42, 0, 10) == 10", "assert offline_clamp(7, 7, 7) == 7"),
        ("def offline_clamp(value, low, high):\n    return max(low, value)\n",
         "def offline_clamp(value, low, high):\n    return min(value, high)\n",
         "def offline_clamp(value, low, high):\n    return min(low, max(value, high))\n"),
    ),
    StandInFunction(
        "offline_is_palindrome",
        "def offline_is_palindrome(text):\n    letters = [ch.lower() for ch in text if ch.isalnum()]\n"
        "    return letters == letters[::-1]\n",
        ('assert offline_is_palindrome("Level") is True', 'assert offline_is_palindrome("abc") is False',
         'assert offline_is_palindrome("") is True', 'assert offline_is_palindrome("A man, a plan, a canal: Panama") is True'),
        ("def offline_is_palindrome(text):\n    return text == text[::-1]\n",
         "def offline_is_palindrome(text):\n    return text.lower() == text.lower()[::-1]\n",
         "def offline_is_palindrome(text):\n    return len(text) % 2 == 1\n"),
    ),
    StandInFunction(
        "offline_digit_sum",
        "def offline_digit_sum(number):\n    return sum(int(digit) for digit in str(abs(number)))\n",
        ("assert offline_digit_sum(123) == 6", "assert offline_digit_sum(0) == 0",
         "assert offline_digit_sum(-45) == 9", "assert offline_digit_sum(1000) == 1"),
        ("def offline_digit_sum(number):\n    return number % 10 + number // 10 % 10\n",
         "def offline_digit_sum(number):\n    return len(str(abs(number)))\n",
         "def offline_digit_sum(number):\n    return abs(number) % 9\n"),
    ),
)
_BY_NAME = {function.name: function for function in FUNCTIONS}
_NAMED = re.compile(r"\b(" + "|".join(_BY_NAME) + r")\b")


def function_named_in(text: str) -> StandInFunction | None:
    """The first of the offline model's own functions that ``text`` names, if any."""
    found = _NAMED.search(text)
    return _BY_NAME[found.group(1)] if found else None


def function_for(text: str, pick: int) -> StandInFunction:
    """The function named in ``text`` (a lineage keeps its function), else the ``pick``-th one."""
    return function_named_in(text) or FUNCTIONS[pick % len(FUNCTIONS)]


def wrong_version(function: StandInFunction, shown: str, pick: int) -> str:
    """A wrong version of ``function`` that ``shown`` does not hold yet (an erroneous-code
    rewrite must show new code), the ``pick``-th when several are left."""
    unseen = [code for code in function.wrong if code.strip() not in shown]
    choices = unseen or list(function.wrong)
    return choices[pick % len(choices)]


# --- arithmetic word problems -------------------------------------------------------------------
#
# A problem is a start (so many containers of so many items) and a chain of steps, each one
# sentence, then the question. The offline model writes problems only in this shape, so it can
# read its own problems back and solve them.

_NAMES = ("Ada", "Bruno", "Chiara", "Dmitri", "Esther", "Farid", "Greta", "Hugo")
_ITEMS = (("crates", "apples"), ("boxes", "pencils"), ("bags", "marbles"), ("trays", "cookies"),
          ("shelves", "books"), ("packs", "stickers"))

_START = re.compile(r"^(?P<name>[A-Z][a-z]+) has (?P<a>\d+) (?P<container>[a-z]+) with (?P<b>\d+) (?P<item>[a-z]+) in each\.")
_STEPS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("sub", re.compile(r"^Then \w+ gives away (?P<n>\d+) \w+\.")),
    ("add", re.compile(r"^Then \w+ buys (?P<n>\d+) more \w+ with (?P<m>\d+) \w+ in each\.")),
    ("mul", re.compile(r"^Then \w+ trades them so that \w+ has (?P<n>\d+) times as many\.")),
)
_QUESTION = re.compile(r"^How many (?P<item>[a-z]+) does (?P<name>[A-Z][a-z]+) have now\?$")


@dataclass(frozen=True)
class WordProblem:
    name: str
    container: str
    item: str
    start: tuple[int, int]  # containers, items in each
    steps: tuple[tuple[str, tuple[int, ...]], ...]  # ("sub", (n,)), ("add", (n, m)), ("mul", (n,))

    def text(self) -> str:
        containers, each = self.start
        parts = [f"{self.name} has {containers} {self.container} with {each} {self.item} in each."]
        for kind, numbers in self.steps:
            if kind == "sub":
                parts.append(f"Then {self.name} gives away {numbers[0]} {self.item}.")
            elif kind == "add":
                parts.append(f"Then {self.name} buys {numbers[0]} more {self.container} with {numbers[1]} {self.item} in each.")
            else:
                parts.append(f"Then {self.name} trades them so that {self.name} has {numbers[0]} times as many.")
        parts.append(f"How many {self.item} does {self.name} have now?")
        return " ".join(parts)

    def solution(self) -> list[str]:
        """The solution's lines, one equation each, ending with the boxed answer."""
        containers, each = self.start
        total = containers * each
        lines = [f"{self.name} starts with {containers} * {each} = {total} {self.item}."]
        for kind, numbers in self.steps:
            if kind == "sub":
                lines.append(f"After giving {numbers[0]} away: {total} - {numbers[0]} = {total - numbers[0]} {self.item}.")
                total -= numbers[0]
            elif kind == "add":
                bought = numbers[0] * numbers[1]
                lines.append(f"The new {self.container} hold {numbers[0]} * {numbers[1]} = {bought} {self.item}.")
                lines.append(f"Together: {total} + {bought} = {total + bought} {self.item}.")
                total += bought
            else:
                lines.append(f"After the trade: {total} * {numbers[0]} = {total * numbers[0]} {self.item}.")
                total *= numbers[0]
        lines.append(f"The answer is \\boxed{{{total}}}")
        return lines

    def harder(self, digest: bytes) -> WordProblem:
        """The same problem with one more step."""
        return WordProblem(self.name, self.container, self.item, self.start,
                           self.steps + (_step(digest, len(self.steps), self.total()),))

    def simpler(self) -> WordProblem:
        """The same problem with its last step dropped (a start alone is still a problem)."""
        return WordProblem(self.name, self.container, self.item, self.start, self.steps[:-1])

    def total(self) -> int:
        return int(self.solution()[-1].removeprefix("The answer is \\boxed{").removesuffix("}"))


def _step(digest: bytes, index: int, total: int) -> tuple[str, tuple[int, ...]]:
    kind = ("sub", "add", "mul")[(digest[(10 + index) % len(digest)]) % 3]
    low = digest[(11 + index) % len(digest)]
    if kind == "sub" and total > 1:
        return "sub", (1 + low % (total - 1),)
    if kind == "mul":
        return "mul", (2 + low % 3,)
    return "add", (2 + low % 5, 3 + digest[(12 + index) % len(digest)] % 9)


def new_problem(digest: bytes, steps: int) -> WordProblem:
    """A problem of the offline model's own, with ``steps`` steps after its start."""
    container, item = _ITEMS[digest[20] % len(_ITEMS)]
    problem = WordProblem(_NAMES[digest[21] % len(_NAMES)], container, item,
                          (2 + digest[22] % 9, 3 + digest[23] % 10), ())
    for _ in range(steps):
        problem = problem.harder(digest)
    return problem


def read_problem(text: str) -> WordProblem | None:
    """One of the offline model's own problems, read back from its text; None for any other."""
    sentences = re.findall(r"[^.?]+[.?]", " ".join(text.split()))
    sentences = [sentence.strip() for sentence in sentences]
    if len(sentences) < 2:
        return None
    start, question = _START.match(sentences[0]), _QUESTION.match(sentences[-1])
    if start is None or question is None or question["item"] != start["item"] or question["name"] != start["name"]:
        return None
    steps: list[tuple[str, tuple[int, ...]]] = []
    for sentence in sentences[1:-1]:
        for kind, pattern in _STEPS:
            found = pattern.match(sentence)
            if found:
                steps.append((kind, tuple(int(n) for n in found.groups())))
                break
        else:
            return None
    return WordProblem(start["name"], start["container"], start["item"], (int(start["a"]), int(start["b"])), tuple(steps))
