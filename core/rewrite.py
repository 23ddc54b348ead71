"""Cleaning an LLM's rewrite down to the instruction itself.

Models wrap a rewrite in things that must not reach the dataset: the template's labels
("#Rewritten Instruction#:"), a polite preamble ("Sure! Here is the rewritten prompt:"), quotes
around the whole text. What is left after cleaning is checked again by the ``template-leak``
filter, which eliminates a rewrite that still quotes the template.
"""

from __future__ import annotations

import re

# The labels of every evolving prompt in this project (general, code and math domains alike).
GIVEN_LABEL = "#Original Instruction#"
REWRITTEN_LABEL = "#Rewritten Instruction#"
CREATED_LABEL = "#New Instruction#"
TEMPLATE_LABELS = (GIVEN_LABEL, REWRITTEN_LABEL, CREATED_LABEL)

# Phrases that only appear when a model copies the evolving prompt's vocabulary into its output.
LEAK_PATTERN = re.compile(
    r"#?\s*(original|given|rewritten|created|new)\s+(instruction|prompt)\s*#"
    r"|\b(given|rewritten|created)\s+prompt\b"
    r"|\b(original|rewritten)\s+instruction\b",
    re.IGNORECASE,
)

_LEADING_LABEL = re.compile(
    r"^\s*(\*\*|#+\s*)?#?\s*(original|given|rewritten|created|new|evolved|revised)\s+"
    r"(instruction|prompt|question|problem)\s*#?\s*(\*\*)?\s*[:：]?\s*(\*\*)?\s*",
    re.IGNORECASE,
)
_PREAMBLE = re.compile(
    r"^\s*(sure|certainly|of course|okay|ok|absolutely|here you go)[!,.]?[^\n]*?"
    r"(:\s*\n|:\s*$|\n)"
    r"|^\s*here(?:'s| is)\b[^\n]*?(rewritten|revised|new|more complex|harder|evolved|modified|"
    r"updated|version|instruction|prompt|question)[^\n]*?:\s*(\n|$)",
    re.IGNORECASE,
)
_QUOTES = {'"': '"', "'": "'", "“": "”", "「": "」"}


def clean_rewrite(text: str) -> str:
    """The instruction inside a rewriter's answer: labels, preambles and wrapping quotes removed."""
    cleaned = text.strip()
    for _ in range(3):  # a preamble can sit before a label and vice versa
        before = cleaned
        cleaned = _PREAMBLE.sub("", cleaned, count=1).lstrip()
        cleaned = _LEADING_LABEL.sub("", cleaned, count=1).lstrip()
        if cleaned == before:
            break
    if len(cleaned) >= 2 and _QUOTES.get(cleaned[0]) == cleaned[-1] and cleaned.count(cleaned[0]) == 2:
        cleaned = cleaned[1:-1].strip()
    return cleaned


def leaks_template(text: str) -> str | None:
    """The template wording a rewrite still contains, if any."""
    found = LEAK_PATTERN.search(text)
    return found.group(0).strip() if found else None
