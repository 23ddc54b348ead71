"""Finding the Python code in a model's answer, and the erroneous snippet in an instruction.

Answers come in every shape: one fenced block, a solution followed by a usage example, a first
attempt and then a "fixed version", blocks tagged ``py`` or ``Python3`` or not tagged at all, a
shell block showing how to run it, or bare code with no fence. The rules, in order:

1. Fenced blocks (``` or ~~~, closed or cut off at the end of the answer) whose tag names Python
   or is empty, and whose text parses as Python. Blocks tagged with another language (``bash``,
   ``text``, ``json``...) are never code to run.
2. Of those, the blocks that define something (a function, a class, an import, a constant) are the
   solution, joined in order: a later definition replaces an earlier one exactly as it would if
   the answer were read top to bottom, so "here is the corrected version" wins. Blocks that only
   call or print (usage examples) are left out, because an example may deliberately raise.
3. When no block defines anything, the last Python block is the solution (a script).
4. With no usable fence: the whole answer if it parses as Python and contains a statement that is
   not a bare name or string, else the longest run of lines starting at a ``def``/``class``/
   ``import`` line that parses.

Anything else is "no code".
"""

from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass

PYTHON_TAGS = frozenset({"", "python", "py", "python3", "py3", "python2", "ipython", "pycon", "sage"})

# A fence opens with 3+ backticks or tildes, an optional tag (``python``, ``{python}``,
# ``python title="x"``), and closes with the same fence character repeated at least as often.
_FENCE_OPEN = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,})[ \t]*\{?(?P<tag>[\w+#.-]*)\}?[^\n]*$")

_CODE_START = re.compile(r"^(?:async[ \t]+def|def|class|import|from[ \t]+\S+[ \t]+import|@\w)\b")


@dataclass(frozen=True)
class CodeBlock:
    """One fenced block: its language tag (lower case, "" when untagged) and its text."""

    language: str
    code: str
    closed: bool = True


def code_blocks(text: str) -> list[CodeBlock]:
    """Every fenced block of ``text`` in order; a block cut off by the end of the text counts."""
    blocks: list[CodeBlock] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        opened = _FENCE_OPEN.match(lines[i])
        if opened is None:
            i += 1
            continue
        fence = opened.group("fence")
        tag = opened.group("tag").lower()
        closing = re.compile(r"^[ \t]*" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}[ \t]*$")
        body: list[str] = []
        i += 1
        closed = False
        while i < len(lines):
            if closing.match(lines[i]):
                closed = True
                i += 1
                break
            body.append(lines[i])
            i += 1
        blocks.append(CodeBlock(tag, _dedent("\n".join(body)).strip("\n"), closed))
    return blocks


def _dedent(code: str) -> str:
    # Blocks inside a markdown list are indented as a whole; Python wants them flush left.
    return textwrap.dedent(code)


def _strip_prompts(code: str) -> str:
    """A REPL transcript (``>>> `` lines) reduced to the statements it typed."""
    if not any(line.startswith(">>>") for line in code.splitlines()):
        return code
    kept = []
    for line in code.splitlines():
        if line.startswith(">>> ") or line == ">>>":
            kept.append(line[4:])
        elif line.startswith("... ") or line == "...":
            kept.append(line[4:])
    return "\n".join(kept)


def parses(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):  # ValueError: null bytes
        return False
    return True


def _defines(code: str) -> bool:
    """Does the code define something a test could use (not only calls and prints)?"""
    tree = ast.parse(code)
    return any(
        isinstance(
            node,
            (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom,
             ast.Assign, ast.AnnAssign),
        )
        for node in tree.body
    )


def _is_substantial(code: str) -> bool:
    """Parses and holds at least one statement that is not a lone name, number or string.

    Plain prose sometimes parses ("Hello" or "x"); a real program does more than that.
    """
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    for node in tree.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, (ast.Name, ast.Constant)):
            continue
        return True
    return False


def python_blocks(text: str) -> list[str]:
    """The fenced blocks of ``text`` that are Python and parse, in order."""
    found = []
    for block in code_blocks(text):
        if block.language not in PYTHON_TAGS:
            continue
        code = _strip_prompts(block.code) if block.language in ("", "pycon", "python", "py") else block.code
        if code.strip() and _is_substantial(code):
            found.append(code)
    return found


def extract_solution(text: str | None) -> str | None:
    """The Python solution in an answer, or None when it contains no code (see module doc)."""
    if not text or not text.strip():
        return None
    blocks = python_blocks(text)
    if blocks:
        defining = [code for code in blocks if _defines(code)]
        if defining:
            return "\n\n".join(code.strip("\n") for code in defining) + "\n"
        return blocks[-1].strip("\n") + "\n"
    if any(block.language not in PYTHON_TAGS for block in code_blocks(text)):
        return None  # code, but in another language: nothing for us to run
    return unfenced_code(text)


def unfenced_code(text: str) -> str | None:
    """Code written without a fence: the whole text, or its longest run starting at a def."""
    stripped = text.strip("\n")
    if _is_substantial(stripped) and _defines(stripped):
        return stripped + "\n"
    lines = stripped.splitlines()
    best: str | None = None
    for start, line in enumerate(lines):
        if not _CODE_START.match(line):
            continue
        # Grow the run over indented, blank and further top-level code lines, then shrink it from
        # the end until it parses (the prose after the code is what usually breaks it).
        end = start + 1
        while end < len(lines) and (not lines[end].strip() or lines[end][:1] in " \t" or _CODE_START.match(lines[end])
                                    or _looks_like_statement(lines[end])):
            end += 1
        for stop in range(end, start, -1):
            candidate = "\n".join(lines[start:stop]).strip("\n")
            if _is_substantial(candidate):
                if best is None or len(candidate) > len(best):
                    best = candidate
                break
    return best + "\n" if best else None


_STATEMENT = re.compile(r"^(?:[A-Za-z_][\w.]*\s*(?:=|\+=|-=|\()|return\b|if\b|for\b|while\b|with\b|try\b|print\()")


def _looks_like_statement(line: str) -> bool:
    if line.startswith("#"):
        return True
    return bool(_STATEMENT.match(line)) and not line.rstrip().endswith((".", "!", "?"))


def without_main_guard(code: str) -> str:
    """The code with its top-level ``if __name__ == "__main__":`` blocks removed.

    Tests call the solution's functions themselves; a main block would read stdin (which is empty
    in the sandbox) or run a demo that has nothing to do with the tests.
    """
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return code
    lines = code.splitlines(keepends=True)
    drop: list[tuple[int, int]] = []
    for node in tree.body:
        if isinstance(node, ast.If) and _is_main_test(node.test):
            drop.append((node.lineno - 1, node.end_lineno or node.lineno))
    if not drop:
        return code
    for start, end in reversed(drop):
        del lines[start:end]
    return "".join(lines)


def _is_main_test(test: ast.expr) -> bool:
    if not isinstance(test, ast.Compare) or len(test.ops) != 1 or not isinstance(test.ops[0], ast.Eq):
        return False
    sides = [test.left, *test.comparators]
    names = [s for s in sides if isinstance(s, ast.Name) and s.id == "__name__"]
    mains = [s for s in sides if isinstance(s, ast.Constant) and s.value == "__main__"]
    return bool(names and mains)


def _normalised(code: str) -> str:
    return "\n".join(line.rstrip() for line in code.strip().splitlines())


def extract_misdirection(instruction: str, parent_instruction: str | None = None) -> str | None:
    """The erroneous reference code an erroneous-code evolution put into ``instruction``.

    Code the parent instruction already showed is not the new snippet (a HumanEval prompt shows a
    signature, an earlier round may have added a snippet of its own): of the Python blocks that are
    new, the last one is taken. Without a fence, the longest run of code lines that is new.
    """
    old = {_normalised(code) for code in python_blocks(parent_instruction or "")}
    new = [code for code in python_blocks(instruction) if _normalised(code) not in old]
    if new:
        return new[-1].strip("\n") + "\n"
    if code_blocks(instruction):
        return None
    code = unfenced_code(instruction)
    if code is None:
        return None
    parent_code = unfenced_code(parent_instruction or "")
    if parent_code is not None and _normalised(parent_code) == _normalised(code):
        return None
    return code


# --- other languages ---------------------------------------------------------------------------
#
# The same idea for a task in another language: the fenced blocks tagged with it (or untagged and
# looking like it) are its code. Of several, the blocks that define something are the solution,
# joined when they define different names, else the last one ("here is the corrected version");
# with none defining anything, the last block. Code written without a fence is not taken: an
# answer in another language is asked for in a fenced block.


def blocks_in(text: str, language: str) -> list[str]:
    """The fenced blocks of `text` in `language`, in order."""
    if language == "python":
        return python_blocks(text)
    from .languages import guess_code, normalise

    tagged = [block.code for block in code_blocks(text) if normalise(block.language) == language and block.code.strip()]
    if tagged:
        return tagged
    return [block.code for block in code_blocks(text)
            if block.language == "" and block.code.strip() and guess_code(block.code) in (language, None)]


def _names(code: str, language: str) -> set[str]:
    from .clike import BRACE_LANGUAGES, defined_names

    if language in BRACE_LANGUAGES:
        return defined_names(code, language)
    if language == "bash":
        return set(re.findall(r"^[ \t]*(?:function[ \t]+)?([A-Za-z_][\w-]*)[ \t]*\([ \t]*\)", code, re.M))
    if language == "sql":
        return set(re.findall(r"\b(?:CREATE\s+(?:TEMP\w*\s+)?(?:TABLE|VIEW|INDEX|TRIGGER)\s+(?:IF\s+NOT\s+EXISTS\s+)?)([\w\"]+)", code, re.I))
    return set()


def extract_code(text: str | None, language: str) -> str | None:
    """The solution in an answer, in the task's language, or None when it has none."""
    if language == "python":
        return extract_solution(text)
    if not text or not text.strip():
        return None
    blocks = blocks_in(text, language)
    if not blocks:
        return None
    defining = [(code, _names(code, language)) for code in blocks]
    defining = [(code, names) for code, names in defining if names]
    if not defining:
        return blocks[-1].strip("\n") + "\n"
    all_names = [name for _code, names in defining for name in names]
    if len(all_names) == len(set(all_names)):
        return "\n\n".join(code.strip("\n") for code, _names_ in defining) + "\n"
    return defining[-1][0].strip("\n") + "\n"


def extract_snippet(instruction: str, parent_instruction: str | None, language: str) -> str | None:
    """The erroneous reference code an erroneous-code evolution put into `instruction`, in the
    task's language (see extract_misdirection for Python)."""
    if language == "python":
        return extract_misdirection(instruction, parent_instruction)
    old = {_normalised(code) for code in blocks_in(parent_instruction or "", language)}
    new = [code for code in blocks_in(instruction, language) if _normalised(code) not in old]
    return new[-1].strip("\n") + "\n" if new else None
