"""The evolving prompt's own vocabulary, and how to take it off a rewrite again.

Our evolving prompts (general, code and math domains alike) put the instruction under labels
(``#Original Instruction#``) and end with the label the model answers under. Models echo what
they were shown: they start a reply with the label, or with a sentence about the rewrite ("Sure!
Here is the rewritten instruction:"), or wrap it in quotes. ``clean_rewrite`` removes exactly
those, and nothing a legitimate instruction can start with: a label is removed only when it is
written as a label (between ``#`` marks, or followed by a colon), a preamble only when it is a
line of its own that talks about the rewrite.

``leaks_template`` is the paper's fourth elimination rule: a rewrite that still carries the
evolving prompt's wording (our labels, or the phrases the WizardLM paper names: "given prompt",
"rewritten prompt", "created prompt") after cleaning. Ordinary English such as "the original
instruction stream" is not a leak.
"""

from __future__ import annotations

import re

GIVEN_LABEL = "#Original Instruction#"
REWRITTEN_LABEL = "#Rewritten Instruction#"
CREATED_LABEL = "#New Instruction#"
TEMPLATE_LABELS = (GIVEN_LABEL, REWRITTEN_LABEL, CREATED_LABEL)

_LABEL_WORDS = r"(?:original|given|rewritten|created|new|evolved|revised)\s+(?:instruction|prompt|question|problem)"

LEAK_PATTERN = re.compile(
    # One of our labels, however spaced or cased: "#Original Instruction#", "# new instruction #".
    r"#\s*" + _LABEL_WORDS + r"\s*#"
    # The WizardLM template's vocabulary, the paper's examples of a leak.
    + r"|\b(?:given|rewritten|created)\s+prompt\b",
    re.IGNORECASE,
)

# A label at the very start: "#Rewritten Instruction#:", "**Rewritten Instruction:**",
# "Rewritten Instruction:", "## New Instruction". A label is followed by a colon or stands on a
# line of its own; anything else goes on the same line is a sentence that starts with those words
# ("#Given Prompt# is the heading our wiki uses; ..." or "New question types appear...") and is
# left whole (the leak rule then judges it).
_LEADING_LABEL = re.compile(
    r"^\s*(?:\*\*|__)?\s*(?:"
    r"#+\s*" + _LABEL_WORDS + r"\s*#*\s*(?:\*\*|__)?[ \t]*(?:[:：]|(?=\n|\Z))"
    r"|" + _LABEL_WORDS + r"\s*(?:\*\*|__)?\s*[:：]"
    r")\s*(?:\*\*|__)?[ \t]*\n?",
    re.IGNORECASE,
)

# A first line about the rewrite itself, followed by the instruction on the next lines:
# "Sure! Here is the rewritten instruction:", "Here's a more complex version:".
# A line that only introduces the rewrite: a courtesy, "here is", at most an article and a few
# words that describe a rewrite ("new", "more challenging"...), then the rewrite's own noun
# ("instruction", "prompt", "version of the task"...) and the colon that ends the line. Nothing
# else may stand between them: "Here are the new requirements for the task:" or "Here is a
# modified version of the function that contains a bug:" are an instruction's own first line.
_REWRITE_WORD = (
    r"(?:new|rewritten|revised|evolved|modified|updated|improved|harder|tougher|deeper|complex|challenging|"
    r"difficult|demanding|advanced|(?:more|slightly more|much more|even more)\s+(?:complex|challenging|difficult|"
    r"demanding|advanced|detailed|specific))"
)
_REWRITE_NOUN = r"(?:instruction|prompt|question|problem|task)s?"
_PREAMBLE_LINE = re.compile(
    r"^\s*(?:(?:sure|certainly|of course|okay|ok|absolutely|great)\b[!.,]*\s*)?"
    r"here(?:'s|’s| is| are)\s+(?:(?:a|an|the|my|one|your)\s+)?"
    rf"(?:{_REWRITE_WORD}[,]?\s+){{1,3}}"
    rf"(?:{_REWRITE_NOUN}|versions?(?:\s+of\s+(?:the|your|this|that)\s+(?:original\s+|given\s+)?{_REWRITE_NOUN})?)"
    r"\s*(?:\*\*)?\s*[:：]\s*(?:\*\*)?\s*\n",
    re.IGNORECASE,
)
_COURTESY = re.compile(r"^\s*(?:sure|certainly|of course|okay|ok|absolutely|great|here(?:'s| is| are))\b", re.IGNORECASE)
_QUOTES = {'"': '"', "'": "'", "“": "”", "「": "」"}


def clean_rewrite(text: str) -> str:
    """The instruction inside a rewriter's answer: labels, preambles and wrapping quotes removed."""
    cleaned = text.strip()
    for _ in range(3):  # a preamble can sit before a label and vice versa
        before = cleaned
        cleaned = _strip_preamble(cleaned)
        cleaned = _LEADING_LABEL.sub("", cleaned, count=1).lstrip()
        if cleaned == before:
            break
    if len(cleaned) >= 2 and _QUOTES.get(cleaned[0]) == cleaned[-1] and cleaned.count(cleaned[0]) == 2:
        cleaned = cleaned[1:-1].strip()
    return cleaned


def _strip_preamble(text: str) -> str:
    """The text without a first line that only introduces the rewrite.

    Such a line starts with a courtesy ("Sure", "Here is") and speaks of the rewrite and the
    instruction, ending in a colon; anything else is the instruction's own first line.
    """
    found = _PREAMBLE_LINE.match(text)
    if found is None or not _COURTESY.match(found.group(0)):
        return text
    rest = text[found.end():].lstrip()
    return rest if rest else text


def leaks_template(text: str) -> str | None:
    """The template wording a rewrite still contains, if any."""
    found = LEAK_PATTERN.search(text)
    return found.group(0).strip() if found else None
