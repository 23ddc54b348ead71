"""The programming language a code task asks for, and how each one is written about.

Code Alpaca's tasks ask for Python, JavaScript, C++, Java, SQL, HTML and more, usually in the
instruction's own words ("Write a JavaScript function...", "Rewrite this code in C++"). A task's
language is read once, from an explicit seed field (``language``) or from what its instruction
asks for, and then follows its lineage (``fields["language"]``): the answer is asked for in it, the
solution is taken from the fenced block in it, and its tests are written and run in it.

Reading the instruction: every mention of a language name scores 1, plus 3 when it follows
"in", "into" or "using", or "to" after a verb of conversion (the language asked for: "convert
this Python code to Rust", but not "connects to MySQL"), and 2 when a word like "function",
"program" or "query" follows it ("a Java program"). The highest
score wins, the first mention on a tie. An instruction that names no language but shows a
fenced block tagged with one, or code that looks like one, is taken to be in that language.
Nothing at all means Python, WizardCoder's own default.

Languages the sandbox cannot run (HTML, C#, PHP...) are still recognised, so that such a task is
answered in its own language, and recorded as untested, rather than forced into Python.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT = "python"


@dataclass(frozen=True)
class Language:
    name: str  # as the sandbox and the dataset's ``fields.language`` spell it
    display: str  # as a prompt writes it
    fence: str  # the tag an answer's code block is asked to carry
    tags: frozenset[str]  # the fence tags taken to mean this language
    mention: re.Pattern[str]  # how an instruction names it
    runnable: bool = True  # the sandbox runs it


def _language(name: str, display: str, tags: str, mention: str, *, runnable: bool = True, flags: int = 0) -> Language:
    tag_set = frozenset(tags.split())
    return Language(name, display, tags.split()[0], tag_set, re.compile(mention, flags), runnable)


_ASKING = r"(?:in|into|to|using|written in)\s+(?:an?\s+|the\s+)?"

LANGUAGES: tuple[Language, ...] = (
    _language("python", "Python", "python py python3 py3 ipython pycon", r"\bPython(?:\s*3)?\b|\bpython3?\b"),
    _language("javascript", "JavaScript", "javascript js node nodejs jsx mjs cjs",
              r"\bJavaScript\b|\bjavascript\b|\bNode(?:\.js|JS)\b|\bnode\.js\b|\bJS\b"),
    _language("typescript", "TypeScript", "typescript ts tsx", r"\bTypeScript\b|\btypescript\b"),
    _language("cpp", "C++", "cpp c++ cxx cc hpp", r"C\+\+|\bCPP\b|\bcpp\b"),
    _language("c", "C", "c h",
              rf"(?:{_ASKING})(?P<lang>C)\b(?![+#])|\bC(?=\s+(?:program|function|code|language|implementation|routine|snippet|"
              r"library|struct|macro)s?\b)|\bANSI C\b|\bC(?:89|99|11|17)\b"),
    _language("go", "Go", "go golang",
              rf"\bGolang\b|\bgolang\b|(?:{_ASKING})(?P<lang>Go)\b|\bGo(?=\s+(?:program|function|code|language|routine|"
              r"implementation|snippet|struct|module|package)s?\b)"),
    _language("rust", "Rust", "rust rs", r"\bRust\b"),
    _language("java", "Java", "java", r"\bJava\b"),
    _language("bash", "Bash", "bash sh shell zsh console shell-session",
              r"\b[Bb]ash\b|\b[Ss]hell script|\bUnix shell\b|\b[Ss]hell command"),
    _language("sql", "SQL", "sql sqlite mysql postgresql psql plsql tsql",
              r"\bSQL\b|\bMySQL\b|\bPostgreSQL\b|\bPostgres\b|\bSQLite\b|\bT-SQL\b|\bsql\b"),
    # Recognised, so that a task is answered in its own language; the sandbox does not run these.
    _language("csharp", "C#", "csharp cs c#", r"C#|\bC Sharp\b|\.NET\b", runnable=False),
    _language("objective-c", "Objective-C", "objective-c objc objectivec", r"\bObjective-C\b", runnable=False),
    _language("php", "PHP", "php", r"\bPHP\b", runnable=False),
    _language("ruby", "Ruby", "ruby rb", r"\bRuby\b|\bRails\b", runnable=False),
    _language("swift", "Swift", "swift", r"\bSwift\b|\bSwiftUI\b|\biOS\b", runnable=False),
    _language("kotlin", "Kotlin", "kotlin kt", r"\bKotlin\b", runnable=False),
    _language("scala", "Scala", "scala", r"\bScala\b", runnable=False),
    _language("r", "R", "r", rf"(?:{_ASKING})(?P<lang>R)\b|\bR(?=\s+(?:program|function|code|language|script|package)s?\b)",
              runnable=False),
    _language("matlab", "MATLAB", "matlab octave", r"\bMATLAB\b|\bMatlab\b|\bOctave\b", runnable=False),
    _language("perl", "Perl", "perl pl", r"\bPerl\b", runnable=False),
    _language("haskell", "Haskell", "haskell hs", r"\bHaskell\b", runnable=False),
    _language("html", "HTML", "html xml css scss", r"\bHTML5?\b|\bCSS3?\b|\bweb ?page\b", runnable=False),
    _language("web", "JavaScript for the browser", "jsx vue svelte",
              r"\bReact(?:\.js| Native)?\b|\bjQuery\b|\bAngular(?:JS)?\b|\bVue(?:\.js)?\b|\bDOM\b", runnable=False),
    _language("assembly", "assembly", "asm nasm assembly", r"\b[Aa]ssembly language\b|\bx86 assembly\b", runnable=False),
)
BY_NAME = {language.name: language for language in LANGUAGES}
_BY_ALIAS = {
    **{tag: language.name for language in LANGUAGES for tag in language.tags},
    **{language.display.lower(): language.name for language in LANGUAGES},
    **{language.name: language.name for language in LANGUAGES},
    "golang": "go", "c++": "cpp", "node.js": "javascript", "sqlite": "sql", "shell": "bash",
}

_QUALIFIERS = r"(?:an?\s+|the\s+|idiomatic\s+|modern\s+|plain\s+|pure\s+)?"
_TARGET_BEFORE = re.compile(rf"\b(?:in|into|using)\s+{_QUALIFIERS}$", re.IGNORECASE)
# "to" names the target only after a conversion ("translate this to Go"), not in "connects to MySQL".
_TO_BEFORE = re.compile(rf"\bto\s+{_QUALIFIERS}$", re.IGNORECASE)
_CONVERSION = re.compile(r"\b(?:convert|translate|port|rewrite|re-write|transpile|migrate|change|transform)\w*\b",
                         re.IGNORECASE)
_KIND_AFTER = re.compile(
    r"^\s*(?:\d+\s*)?(?:program|function|method|class|code|script|query|queries|statement|solution|"
    r"implementation|snippet|routine|module|procedure|one-liner|command)s?\b",
    re.IGNORECASE,
)
_FENCE_TAG = re.compile(r"^[ \t]*(?:`{3,}|~{3,})[ \t]*\{?([\w+#.-]+)", re.MULTILINE)


def language(name: str) -> Language:
    """The language for a name, an alias or a fence tag (case-insensitive); KeyError if unknown."""
    return BY_NAME[_BY_ALIAS[name.strip().lower()]]


def normalise(name: str) -> str | None:
    """The canonical name for a name, alias or fence tag, or None if unknown."""
    return _BY_ALIAS.get(name.strip().lower())


def mentions(text: str) -> dict[str, int]:
    """Each named language's score in `text` (see the module doc)."""
    scores: dict[str, int] = {}
    for lang in LANGUAGES:
        for found in lang.mention.finditer(text):
            start = found.start("lang") if "lang" in found.re.groupindex and found.group("lang") else found.start()
            before = text[max(0, start - 80) : start]
            score = 1
            if _TARGET_BEFORE.search(before) or (_TO_BEFORE.search(before) and _CONVERSION.search(before)):
                score += 3
            if _KIND_AFTER.match(text[found.end() : found.end() + 40]):
                score += 2
            scores[lang.name] = max(scores.get(lang.name, 0), score)
    return scores


def _first_position(text: str, name: str) -> int:
    found = BY_NAME[name].mention.search(text)
    return found.start() if found else len(text)


def asked_for(text: str) -> tuple[str, int] | None:
    """The language `text` asks for and its score, or None when it names none."""
    scores = mentions(_prose(text))
    if not scores:
        return None
    best = max(scores.values())
    winners = [name for name, score in scores.items() if score == best]
    return min(winners, key=lambda name: _first_position(text, name)), best


def _prose(text: str) -> str:
    """The text without its fenced code, whose identifiers and strings are not requests."""
    return re.sub(r"(?ms)^[ \t]*(`{3,}|~{3,}).*?(^[ \t]*\1[ \t]*$|\Z)", " ", text)


def detect(text: str) -> str:
    """The language a task asks for (see the module doc); Python when nothing says otherwise."""
    found = asked_for(text)
    if found is not None:
        return found[0]
    for tag in _FENCE_TAG.findall(text):
        name = normalise(tag)
        if name is not None:
            return name
    return guess_code(text) or DEFAULT


# What code in each language looks like, for a snippet no word names: the first language with a
# match wins, so the more specific ones come first.
_LOOKS_LIKE: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("html", re.compile(r"<(?:!DOCTYPE|html|head|body|div|span|p|table|form|ul|li|a|h[1-6])\b[^>]*>", re.I)),
    ("cpp", re.compile(r"#include\s*<(?:iostream|vector|string|map|algorithm|bits/stdc\+\+\.h)>|\bstd::|\bcout\s*<<")),
    ("c", re.compile(r"#include\s*<\w+\.h>|\bprintf\s*\(|\bint\s+main\s*\(")),
    ("java", re.compile(r"\bpublic\s+(?:static\s+)?(?:class|void|int|String)\b|\bSystem\.out\.print")),
    ("go", re.compile(r"^\s*package\s+main\b|\bfunc\s+\w+\s*\(.*\)\s*[\w\[\]*]*\s*\{|\bfmt\.Print", re.M)),
    ("rust", re.compile(r"\bfn\s+\w+\s*\(.*\)\s*(?:->|\{)|\blet\s+mut\b|\bprintln!\(")),
    ("sql", re.compile(r"^\s*(?:SELECT\s.+\sFROM\b|INSERT\s+INTO\b|CREATE\s+TABLE\b|UPDATE\s+\w+\s+SET\b)", re.I | re.M)),
    ("php", re.compile(r"<\?php|\$\w+\s*=.*;\s*$", re.M)),
    ("javascript", re.compile(r"\bfunction\s+\w+\s*\(|\bconsole\.log\(|\b(?:const|let|var)\s+\w+\s*=|=>")),
    ("bash", re.compile(r"^#!/bin/(?:ba)?sh|^\s*echo\s+\$|\$\{\w+\}", re.M)),
    ("python", re.compile(r"^\s*def\s+\w+\s*\(.*\)\s*:|^\s*import\s+\w+\s*$|\bprint\(|^\s*for\s+\w+\s+in\s+.+:\s*$", re.M)),
)


def guess_code(text: str) -> str | None:
    """The language that code in `text` looks like, or None."""
    for name, pattern in _LOOKS_LIKE:
        if pattern.search(text):
            return name
    return None


def switched_to(instruction: str, current: str) -> str | None:
    """A language an evolved instruction explicitly asks for instead of its lineage's, or None.

    Only a firm request counts ("... in Rust", "rewrite it using Go"): a rewrite that merely
    mentions a language (an erroneous snippet introduced as "this Python code") keeps the
    lineage's language.
    """
    found = asked_for(instruction)
    if found is None:
        return None
    name, score = found
    if name == current or score < 4 or current in mentions(_prose(instruction)):
        return None
    return name
