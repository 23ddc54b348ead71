"""An SQL job: SQLite, in memory, run inside the supervisor's forked warm interpreter.

The program is the code followed by the tests, one SQLite script on an empty in-memory database:

- the code creates and fills the tables the task is about, then answers it (typically with a
  final query); the rows of the code's last statement that returns rows are kept in a temporary
  table ``result``, with that statement's column names, for the tests to read;
- each test statement that returns rows is a check: it passes when it returns at least one row
  and the first column of every row is true as SQLite itself takes it in a WHERE clause (not 0,
  not NULL, not a text that reads as 0 such as 'false'), for example
  ``SELECT COUNT(*) = 3 FROM result``; test statements that return no rows (more setup) just run.
  Checks are counted, whether the tests are a script or a list of statements.

A syntax error anywhere is a COMPILE_ERROR, found before anything runs; an error while running
(no such table, a constraint) is a RUNTIME_ERROR; a check that does not hold is a FAIL.
"""

from __future__ import annotations

import re
import sqlite3
import sys
from typing import Any

_SYNTAX = re.compile(r"syntax error|incomplete input|unrecognized token", re.I)


def statements(script: str) -> list[str]:
    """The statements of a script, in order, each complete (SQLite's own idea of complete). What
    holds only comments and blanks (a comment after the last statement) is no statement."""
    found, current = [], ""
    for piece in re.split(r"(;)", script):
        current += piece
        if piece == ";" and sqlite3.complete_statement(current):
            if not _only_comments(current.rstrip(";")):
                found.append(current.strip())
            current = ""
    if not _only_comments(current):
        found.append(current.strip())
    return found


def _only_comments(text: str) -> bool:
    """Whether `text` holds nothing but blanks, semicolons and SQL comments (-- and /* */),
    reading quoted strings and names as such."""
    i, n = 0, len(text)
    closing = {"'": "'", '"': '"', "`": "`", "[": "]"}
    while i < n:
        ch = text[i]
        if ch in " \t\r\n\f;":
            i += 1
        elif text.startswith("--", i):
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
        else:
            return False
    return True


def _true(probe: sqlite3.Connection, value: object) -> bool:
    """SQLite's own truth, asked of SQLite (on a connection the program never touched): a check
    is true as a WHERE clause would take it, so the text 'false' (which SQLite reads as the number
    0) is false, as are 0, NULL and ''."""
    return bool(probe.execute("SELECT CASE WHEN ? THEN 1 ELSE 0 END", (value,)).fetchone()[0])


def _syntax_error(statement: str) -> str | None:
    probe = sqlite3.connect(":memory:")
    try:
        probe.execute(f"EXPLAIN {statement}")
    except sqlite3.Error as error:
        # Only a malformed statement is the program's compile error; a table that does not exist
        # yet is found when it runs.
        if _SYNTAX.search(str(error)) and "no such" not in str(error):
            return str(error)
    except Exception:  # noqa: BLE001 - e.g. more than one statement: sqlite3 says so at run time
        return None
    finally:
        probe.close()
    return None


def _keep_result(connection: sqlite3.Connection, cursor: sqlite3.Cursor, rows: list[tuple]) -> None:
    names: list[str] = []
    for index, column in enumerate(cursor.description or ()):
        name = column[0] or f"column{index + 1}"
        while name in names:
            name += "_"
        names.append(name)
    connection.execute("DROP TABLE IF EXISTS temp.result")
    columns = ", ".join('"' + name.replace('"', '""') + '"' for name in names)
    connection.execute(f"CREATE TEMP TABLE result ({columns})")
    if rows:
        marks = ", ".join("?" for _ in names)
        connection.executemany(f"INSERT INTO temp.result VALUES ({marks})", rows)


def _show(rows: list[tuple]) -> str:
    shown = ", ".join(repr(row) for row in rows[:5])
    return shown + (f", ... ({len(rows)} rows)" if len(rows) > 5 else "")


def run(code: str, tests: str | list | None) -> dict[str, Any]:
    code_statements = statements(code)
    test_statements = [s for test in tests for s in statements(str(test))] if isinstance(tests, list) else statements(tests or "")
    for where, group in (("code", code_statements), ("tests", test_statements)):
        for statement in group:
            error = _syntax_error(statement)
            if error:
                sys.stderr.write(f"Parse error in the {where}: {error}\n  {statement[:300]}\n")
                return {"verdict": "COMPILE_ERROR", "message": f"{error} (in the {where}: {statement[:200]!r})"}

    connection = sqlite3.connect(":memory:", isolation_level=None)
    probe = sqlite3.connect(":memory:")
    try:
        for statement in code_statements:
            try:
                cursor = connection.execute(statement)
                if cursor.description is not None:
                    rows = cursor.fetchall()
                    for row in rows:
                        print("|".join("" if value is None else str(value) for value in row))
                    _keep_result(connection, cursor, rows)
            except sqlite3.Error as error:
                sys.stderr.write(f"Error in the code: {error}\n  {statement[:300]}\n")
                return {"verdict": _runtime(error), "message": f"{error} (in the code: {statement[:200]!r})"}

        passed = total = 0
        failure = ""
        for statement in test_statements:
            try:
                cursor = connection.execute(statement)
                rows = cursor.fetchall() if cursor.description is not None else None
            except sqlite3.Error as error:
                sys.stderr.write(f"Error in the tests: {error}\n  {statement[:300]}\n")
                counted = {"passed": passed, "total": total + 1} if total else {}
                return {"verdict": _runtime(error), "message": f"{error} (in the tests: {statement[:200]!r})", **counted}
            if rows is None:
                continue
            total += 1
            if rows and all(row and _true(probe, row[0]) for row in rows):
                passed += 1
            elif not failure:
                failure = f"check {total} ({statement[:200]!r}) returned {_show(rows) if rows else 'no rows'}"
                sys.stderr.write(f"Check failed: {failure}\n")
        # A total of 0 (tests that only set things up) is reported as such: no check ran.
        counts = {"passed": passed, "total": total}
        if passed < total:
            return {"verdict": "FAIL", "message": failure, **counts}
        return {"verdict": "PASS", **counts}
    finally:
        connection.close()
        probe.close()


def _runtime(error: sqlite3.Error) -> str:
    return "MEMORY_LIMIT" if "out of memory" in str(error).lower() else "RUNTIME_ERROR"
