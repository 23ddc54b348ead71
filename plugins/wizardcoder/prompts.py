"""Every prompt of the code domain, in our own words, in the task's language.

The evolving template follows WizardCoder: one template, "make the programming exercise a bit
harder", filled with one of five methods. Its rules never spell out the labels that frame the
given and rewritten exercise (a model tends to echo whatever the rules quote); they say "none of
the headings of this message" instead, and the ``template-leak`` filter catches the rest.

The answer, the tests and the erroneous reference code are asked for in the task's language
(languages.py), in a fenced block tagged with it, and in the shape the sandbox runs: the
program is the solution followed by the tests, so for C, C++, Go, Rust and Java the tests bring
``main`` and the solution must not.
"""

from __future__ import annotations

from evolinstruct import GIVEN_LABEL, REWRITTEN_LABEL

from .languages import BY_NAME, Language

EVOLVE_TEMPLATE = """\
You make programming exercises a little harder for capable AI assistants, while keeping them \
clear, self-contained and solvable by a competent programmer.

Keep to these rules:
- Keep the code, examples and input data of the exercise, and the name and parameters of any \
function it asks for, unless the method below itself requires changing them.
- Keep the exercise in {language}: the solution is still written in {language}.
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
    "erroneous-code": "Add a piece of erroneous {language} code as a reference, to increase "
    "misdirection: a plausible attempt that does not solve the exercise correctly, in a fenced "
    "```{fence} block, introduced as code that contains a mistake.",
    "complexity": "State a stricter time or space complexity requirement for the solution; do so "
    "only where a tighter bound fits the exercise naturally.",
}

RESPOND_TEMPLATE = """\
{instruction}

Write a complete, working {language} solution. Put all of its code in one ```{fence} block\
{signature}. {rules} A short explanation may follow the code block."""

SIGNATURE_HINT = """\
 that defines {functions} (keep these names and parameters unless the task itself changes them)"""

# How a solution must be shaped so that the tests can be appended to it and run.
ANSWER_RULES: dict[str, str] = {
    "python": "The code must not read input or run a demo when it is imported.",
    "javascript": "Define the functions and classes at the top level (CommonJS, no exports needed); the code "
    "must not read input, run a demo or call process.exit.",
    "typescript": "Define the functions and classes at the top level; the code must not read input, run a "
    "demo or call process.exit.",
    "c": "Include the headers you use and do not write a main function: tests with their own main are "
    "compiled together with your code.",
    "cpp": "Include the headers you use and do not write a main function: tests with their own main are "
    "compiled together with your code.",
    "go": "Write package main code without a main function (tests supply it), and import only the "
    "packages you use.",
    "rust": "Do not write a main function: tests with their own main are compiled together with your code.",
    "java": "Put the methods in a class named Solution (static methods unless the task needs objects) and "
    "do not write a class named Main: tests supply `public class Main`.",
    "bash": "Define shell functions; the script must not read input or call exit.",
    "sql": "Write SQLite statements. Assume the tables exist as the task describes them (do not create "
    "them unless the task asks you to), and end with the query whose rows are the answer.",
}
OTHER_RULES = "The code cannot be run here, so make it complete and self-contained."

TESTS_TEMPLATE = """\
Write tests for a {language} solution of the programming task below.

Task:
{instruction}

The solution is used through these definitions:
{signatures}

{form} Check the behaviour the task asks for: ordinary cases first, then the edge cases the task \
mentions. Each check compares with the exact expected value. No printing, no input, no \
randomness, no timing, no files or network. Work out every expected value carefully by hand."""

# What the tests look like in each language, so that the sandbox can run them after the solution.
TEST_FORMS: dict[str, str] = {
    "python": "Write 4 to 8 independent assert statements that call the definitions above directly. "
    "Reply with one ```python block holding only the assert statements (and any import they need).",
    "javascript": "Write 4 to 8 independent checks, each one statement starting with `assert.` "
    "(assert.strictEqual, assert.deepStrictEqual) that calls the definitions above directly. Reply with one "
    "```javascript block holding `const assert = require('assert');` and the checks, and nothing else.",
    "typescript": "Write 4 to 8 independent checks, each one statement starting with `assert.` "
    "(assert.strictEqual, assert.deepStrictEqual) that calls the definitions above directly. Reply with one "
    "```typescript block holding `import * as assert from 'assert';` and the checks, and nothing else.",
    "c": "Write `int main(void)` holding 4 to 8 independent `assert(...)` checks that call the definitions "
    "above directly. Reply with one ```c block holding the #include lines the checks need "
    "(<assert.h> at least) and main, without repeating the solution.",
    "cpp": "Write `int main()` holding 4 to 8 independent `assert(...)` checks that call the definitions "
    "above directly. Reply with one ```cpp block holding the #include lines the checks need "
    "(<cassert> at least) and main, without repeating the solution.",
    "go": "Write `func main()` holding 4 to 8 independent checks that call the definitions above directly, "
    "each of the form `if got := f(x); got != want { panic(fmt.Sprintf(\"assertion failed: f(x) = %v, want "
    "%v\", got, want)) }` (reflect.DeepEqual for slices and maps). Reply with one ```go block holding the "
    "imports the checks use and func main, without repeating the solution.",
    "rust": "Write `fn main()` holding 4 to 8 independent `assert_eq!` or `assert!` checks that call the "
    "definitions above directly. Reply with one ```rust block holding fn main (and any `use` lines it "
    "needs), without repeating the solution.",
    "java": "Write `public class Main` with `public static void main(String[] args)` holding 4 to 8 "
    "independent checks that call the definitions above directly, each of the form "
    "`if (!(<condition>)) throw new AssertionError(\"<what failed>\");`. Reply with one ```java block "
    "holding the imports the checks use and class Main, without repeating the solution.",
    "bash": "Write 4 to 8 independent checks that call the functions above, each of the form "
    "`[ \"$(f arguments)\" = \"expected\" ] || exit 1`. Reply with one ```bash block holding only the checks.",
    "sql": "First write the SQLite statements that create the tables the task uses and fill them with a few "
    "rows that exercise its cases. Then write 3 to 6 checks, each a SELECT on the table `result` (it holds "
    "the rows of the solution's final query, under its column names) that returns 1 when the rows are "
    "right, for example `SELECT COUNT(*) = 2 FROM result;`. Reply with one ```sql block holding the "
    "statements and then the checks.",
}

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


def _language(name: str) -> Language:
    return BY_NAME.get(name) or BY_NAME["python"]


def method_text(method: str, language: str = "python") -> str:
    """One method of the template, in the task's language."""
    lang = _language(language)
    return METHODS[method].format(language=lang.display, fence=lang.fence)


def evolve_prompt(method: str, instruction: str, language: str = "python") -> str:
    return EVOLVE_TEMPLATE.format(
        method=method_text(method, language), instruction=instruction, given=GIVEN_LABEL,
        rewritten=REWRITTEN_LABEL, language=_language(language).display,
    )


def respond_prompt(instruction: str, signatures: list[str], language: str = "python") -> str:
    lang = BY_NAME.get(language)
    display, fence = (lang.display, lang.fence) if lang else (language, language)
    hint = ""
    if signatures:
        shown = ", ".join(f"`{signature}`" for signature in signatures)
        hint = SIGNATURE_HINT.format(functions=shown)
    rules = ANSWER_RULES.get(language, OTHER_RULES)
    return RESPOND_TEMPLATE.format(instruction=instruction, signature=hint, language=display, fence=fence, rules=rules)


def tests_prompt(instruction: str, signatures: list[str], language: str = "python") -> str:
    return TESTS_TEMPLATE.format(
        instruction=instruction, signatures="\n".join(signatures), language=_language(language).display,
        form=TEST_FORMS[language],
    )


def review_prompt(instruction: str, tests: list[str]) -> str:
    numbered = "\n".join(f"{number}. {test}" for number, test in enumerate(tests, start=1))
    return REVIEW_TEMPLATE.format(instruction=instruction, tests=numbered)
