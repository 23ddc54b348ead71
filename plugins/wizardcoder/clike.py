"""Reading code in the brace languages (C, C++, Java, Go, Rust, JavaScript, TypeScript) without a
parser: where its functions are, what they are called, how they are declared, and where their
bodies begin and end.

The code domain needs only that much of these languages: the names a solution defines (do the
lineage's tests still apply?), its declarations (for prompts), its ``main`` (the tests bring their
own), and its function bodies (replaced by trivial ones, to check that a test suite rejects a
solution that does nothing). Strings, characters and comments are blanked out first, so that a
brace or a keyword inside them is never mistaken for code; then braces are matched, and the text
before each opening brace (its "header") says what the block is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .sandbox.harness.toolchains import blank

BRACE_LANGUAGES = frozenset({"c", "cpp", "java", "go", "rust", "javascript", "typescript"})


def matching_braces(blanked: str) -> dict[int, int]:
    """Opening brace position -> closing brace position (unbalanced ones are left out)."""
    pairs: dict[int, int] = {}
    stack: list[int] = []
    for index, ch in enumerate(blanked):
        if ch == "{":
            stack.append(index)
        elif ch == "}" and stack:
            pairs[stack.pop()] = index
    return pairs


@dataclass(frozen=True)
class Function:
    name: str
    header: str  # the declaration as written (blanked of comments), up to the body
    returns: str  # the declared result type ("" when none is declared: void, a constructor)
    start: int  # where the declaration starts
    body_open: int  # the body's opening brace
    body_close: int  # and its closing brace
    constructor: bool = False
    owner: str = ""  # the class (or struct, impl...) it is declared in, when known


_CONTROL = frozenset({"if", "for", "while", "switch", "catch", "do", "else", "return", "sizeof", "with", "elif",
                      "foreach", "until", "synchronized", "try", "new", "throw", "match", "loop", "unsafe"})
_C_FUNCTION = re.compile(
    r"(?P<returns>[\w:<>,\*&\s\[\]]*?)\s*\b(?P<name>~?[A-Za-z_]\w*(?:::~?[A-Za-z_]\w*)*)\s*"
    r"\((?P<params>[^;{}]*)\)\s*(?:const\b\s*)?(?:noexcept\b\s*(?:\([^)]*\))?\s*)?(?:override\b\s*)?"
    r"(?:final\b\s*)?(?:->\s*(?P<trailing>[^{;]+?))?\s*(?::[^{;]*)?$",
    re.S,
)
_C_CONTAINER = re.compile(r"(?:^|\s)(?:class|struct|union|namespace)\b[^(){};=]*$|extern\s*\"C\"\s*$", re.S)
_C_SPECIFIERS = re.compile(r"\b(?:static|inline|virtual|constexpr|consteval|extern|friend|explicit|template\s*<[^>]*>|"
                           r"\[\[[^\]]*\]\]|__attribute__\s*\(\([^)]*\)\))\s*")
_JAVA_FUNCTION = re.compile(
    r"(?:@\w+(?:\([^)]*\))?\s*)*(?P<mods>(?:(?:public|protected|private|static|final|abstract|synchronized|native|"
    r"strictfp|default)\s+)*)(?:<[^>]*>\s*)?(?P<returns>[\w.<>\[\],?\s]*?)\s*\b(?P<name>[A-Za-z_$][\w$]*)\s*"
    r"\((?P<params>[^;{}]*)\)\s*(?:throws\s+[\w.,\s]+)?$",
    re.S,
)
_JAVA_CONTAINER = re.compile(r"\b(?:class|interface|enum|record)\s+(?P<name>\w+)[^{;]*$", re.S)
_GO_FUNCTION = re.compile(
    r"^func\s*(?:\((?P<receiver>[^)]*)\))?\s*(?P<name>\w+)\s*(?:\[[^\]]*\])?\s*\((?P<params>[^{]*?)\)\s*(?P<returns>[^{]*?)\s*$",
    re.S,
)
_RUST_FUNCTION = re.compile(
    r"(?:pub(?:\([^)]*\))?\s+)?(?:(?:const|async|unsafe|extern\s*\"C\")\s+)*fn\s+(?P<name>\w+)\s*(?:<[^(]*>)?\s*"
    r"\((?P<params>[^{]*?)\)\s*(?:->\s*(?P<returns>[^{]+?))?\s*(?:where\s[^{]*)?$",
    re.S,
)
_RUST_CONTAINER = re.compile(r"\b(?:impl|mod|trait)\b[^;{}]*$", re.S)
_JS_FUNCTION = re.compile(
    r"(?:export\s+(?:default\s+)?)?(?:async\s+)?function\s*\*?\s*(?P<name>[\w$]+)\s*(?:<[^(]*>)?\s*"
    r"\((?P<params>[^{]*?)\)\s*(?::\s*(?P<returns>[^{]+?))?\s*$",
    re.S,
)
_JS_METHOD = re.compile(
    r"(?:(?:public|private|protected|static|async|readonly|override|get|set)\s+)*\*?\s*(?P<name>[\w$]+)\s*"
    r"(?:<[^(]*>)?\s*\((?P<params>[^{]*?)\)\s*(?::\s*(?P<returns>[^{]+?))?\s*$",
    re.S,
)
_JS_ARROW = re.compile(
    r"(?:export\s+)?(?:const|let|var)\s+(?P<name>[\w$]+)\s*(?::[^=]+)?=\s*(?:async\s+)?"
    r"(?:function\s*\*?\s*[\w$]*\s*)?(?:\((?P<params>[^{]*?)\)|(?P<single>[\w$]+))\s*(?::\s*(?P<returns>[^={]+?))?\s*(?:=>)?\s*$",
    re.S,
)
_JS_CONTAINER = re.compile(r"\bclass\s+[\w$]+[^{;]*$", re.S)


def _header_start(blanked: str, brace: int) -> int:
    """Where the declaration before a brace starts: after the previous `;`, `{`, `}` or directive."""
    base = max(blanked.rfind(";", 0, brace), blanked.rfind("{", 0, brace), blanked.rfind("}", 0, brace)) + 1
    start = base
    # A preprocessor line (#include ...) ends where its line ends.
    for line in re.finditer(r"^[ \t]*#[^\n]*$", blanked[base:brace], re.M):
        start = base + line.end()
    return start


def _classify(language: str, header: str, enclosing: str) -> tuple[str, str, str, bool] | None:
    """("function", name, returns, constructor) or ("container", name, "", False) or None."""
    text = header.strip()
    if not text:
        return None
    first = re.match(r"[\w$]+", text)
    if first and first.group(0) in _CONTROL:
        return None
    if language in ("c", "cpp"):
        if _C_CONTAINER.search(text):
            named = re.search(r"\b(?:class|struct|union)\s+(\w+)", text)
            return ("container", named.group(1) if named else "", "", False)
        if "=" in text.split("(", 1)[0]:
            return None  # an initialiser: int xs[] = {...}
        found = _C_FUNCTION.search(_C_SPECIFIERS.sub(" ", text))
        if found is None or found.group("name").split("::")[-1] in _CONTROL:
            return None
        returns = (found.group("trailing") or found.group("returns") or "").strip()
        name = found.group("name")
        constructor = not returns or name.split("::")[-1].lstrip("~") == enclosing or \
            (name.count("::") and name.split("::")[-1].lstrip("~") == name.split("::")[-2])
        return ("function", name, returns, constructor)
    if language == "java":
        container = _JAVA_CONTAINER.search(text)
        if container and "(" not in text.split(container.group(0).split()[0], 1)[0]:
            return ("container", container.group("name"), "", False)
        found = _JAVA_FUNCTION.search(text)
        if found is None or "=" in text or "new " in text:
            return None
        returns = found.group("returns").strip()
        return ("function", found.group("name"), returns, not returns or found.group("name") == enclosing)
    if language == "go":
        text = re.split(r"\n(?=func\b)", text)[-1]  # after an import block, which ends in no brace
        found = _GO_FUNCTION.search(text)
        return ("function", found.group("name"), found.group("returns").strip(), False) if found else None
    if language == "rust":
        found = _RUST_FUNCTION.search(text)
        if found:
            return ("function", found.group("name"), (found.group("returns") or "").strip(), False)
        if not _RUST_CONTAINER.search(text):
            return None
        named = re.search(r"\bimpl\b(?:\s*<[^>]*>)?\s+(?:[\w:<>]+\s+for\s+)?(\w+)", text)
        return ("container", named.group(1) if named else "", "", False)
    if language in ("javascript", "typescript"):
        # Statements need no semicolon: a declaration starts on its own line.
        text = re.split(r"\n(?=[ \t]*(?:export\s+|async\s+)*(?:function|const|let|var|class)\b)", text)[-1].strip()
        if _JS_CONTAINER.search(text):
            return ("container", re.search(r"class\s+([\w$]+)", text).group(1), "", False)  # type: ignore[union-attr]
        for pattern in (_JS_FUNCTION, _JS_ARROW) + ((_JS_METHOD,) if enclosing else ()):
            found = pattern.fullmatch(text) if pattern is not _JS_ARROW else pattern.search(text)
            if found:
                if pattern is _JS_ARROW and "=>" not in text and "function" not in text:
                    return None
                name = found.group("name")
                return ("function", name, (found.group("returns") or "").strip(), name == "constructor")
        return None
    return None


def functions(source: str, language: str) -> list[Function]:
    """Every function with a body, outermost first: top level, and inside classes, structs,
    namespaces, impl blocks and modules, but not functions nested in other functions."""
    blanked = blank(source, language)
    pairs = matching_braces(blanked)
    found: list[Function] = []

    def walk(start: int, end: int, enclosing: str) -> None:
        index = start
        while index < end:
            brace = blanked.find("{", index, end)
            if brace < 0:
                return
            close = pairs.get(brace)
            if close is None:
                return
            header_start = _header_start(blanked, brace)
            kind = _classify(language, blanked[header_start:brace], enclosing)
            if kind is not None and kind[0] == "function":
                _, name, returns, constructor = kind
                header = " ".join(blanked[header_start:brace].split())
                found.append(Function(name, header, returns, header_start, brace, close, constructor, enclosing))
            elif kind is not None and kind[0] == "container":
                walk(brace + 1, close, kind[1] or enclosing)
            index = close + 1

    walk(0, len(blanked), "")
    return found


def defined_names(source: str, language: str) -> set[str]:
    """Names the code defines: its functions (short names) and its types."""
    names = {function.name.split("::")[-1] for function in functions(source, language)}
    blanked = blank(source, language)
    type_pattern = {
        "c": r"\b(?:struct|union|enum)\s+(\w+)|typedef\b[^;]*?\b(\w+)\s*;",
        "cpp": r"\b(?:class|struct|union|enum(?:\s+class)?)\s+(\w+)|\busing\s+(\w+)\s*=",
        "java": r"\b(?:class|interface|enum|record)\s+(\w+)",
        "go": r"^type\s+(\w+)|^(?:var|const)\s+(\w+)",
        "rust": r"\b(?:struct|enum|trait|type)\s+(\w+)|^(?:pub\s+)?(?:const|static)\s+(\w+)",
        "javascript": r"^(?:export\s+)?class\s+([\w$]+)|^(?:export\s+)?(?:const|let|var)\s+([\w$]+)",
        "typescript": r"^(?:export\s+)?(?:class|interface|type|enum)\s+([\w$]+)|^(?:export\s+)?(?:const|let|var)\s+([\w$]+)",
    }.get(language)
    if type_pattern:
        for match in re.finditer(type_pattern, blanked, re.M):
            names.update(group for group in match.groups() if group)
    return names


def identifiers(source: str, language: str) -> set[str]:
    """Every identifier the code uses, outside strings and comments."""
    return set(re.findall(r"[A-Za-z_$][\w$]*", blank(source, language)))


def _remove(source: str, spans: list[tuple[int, int]]) -> str:
    for start, end in sorted(spans, reverse=True):
        source = source[:start] + source[end:]
    return source


def without_main(source: str, language: str) -> str:
    """The code without its own entry point: the tests bring theirs.

    C, C++, Go and Rust lose their top-level ``main`` function, Java its class ``Main``, and
    JavaScript and TypeScript their ``if (require.main === module) {...}`` blocks.
    """
    blanked = blank(source, language)
    pairs = matching_braces(blanked)
    spans: list[tuple[int, int]] = []
    if language in ("c", "cpp", "go", "rust"):
        for function in functions(source, language):
            if function.name == "main" and _depth(blanked, function.start) == 0:
                spans.append((function.start, function.body_close + 1))
    elif language == "java":
        for match in re.finditer(r"(?:(?:public|final|static)\s+)*class\s+Main\b[^{]*\{", blanked):
            if _depth(blanked, match.start()) == 0:
                close = pairs.get(match.end() - 1)
                if close is not None:
                    spans.append((match.start(), close + 1))
    elif language in ("javascript", "typescript"):
        for match in re.finditer(r"^if\s*\(\s*require\.main\s*===?\s*module\s*\)\s*\{", blanked, re.M):
            close = pairs.get(match.end() - 1)
            if close is not None:
                spans.append((match.start(), close + 1))
    return _remove(source, spans) if spans else source


def _depth(blanked: str, position: int) -> int:
    return blanked.count("{", 0, position) - blanked.count("}", 0, position)


# --- trivial stand-ins -------------------------------------------------------------------------

_JAVA_ZERO = {"int": "0", "long": "0L", "short": "(short) 0", "byte": "(byte) 0", "double": "0.0", "float": "0.0f",
              "char": "'\\0'", "boolean": "false"}
_JAVA_ONE = {"int": "1", "long": "1L", "short": "(short) 1", "byte": "(byte) 1", "double": "1.0", "float": "1.0f",
             "char": "'a'", "boolean": "true", "String": '""'}


def _split_top(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch in "([{<":
            depth += 1
        elif ch in ")]}>":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += ch
    if current.strip():
        parts.append(current.strip())
    return parts


def _go_body(returns: str) -> str:
    if not returns:
        return "{}"
    if returns.startswith("("):
        parts = _split_top(returns[1:-1])
        if parts and all(len(part.split()) >= 2 and not part.startswith(("*", "[", "map[", "func", "chan")) for part in parts):
            return "{ return }"  # named results
        return "{ return " + ", ".join(f"*new({part})" for part in parts) + " }"
    return f"{{ return *new({returns}) }}"


def _bodies(language: str, function: Function) -> list[str]:
    """Trivial bodies for one function, one per variant."""
    returns = re.sub(r"\b(?:const|static|inline|constexpr|virtual|typename|mutable)\b", "", function.returns).strip()
    if language in ("c", "cpp"):
        if function.constructor or returns in ("", "void"):
            return ["{}"] * 2
        zero = "{ return {}; }" if language == "cpp" else "{ return 0; }"
        return [zero, "{ return 1; }"]
    if language == "java":
        if function.constructor or returns in ("", "void"):
            return ["{}"] * 2
        bare = returns.split("<", 1)[0].strip()
        return [f"{{ return {_JAVA_ZERO.get(bare, 'null')}; }}", f"{{ return {_JAVA_ONE.get(bare, 'null')}; }}"]
    if language == "go":
        return [_go_body(returns)]
    if language == "rust":
        if returns in ("", "()"):
            return ["{}"]
        return ["{ Default::default() }"]
    return []


def _keeps_body(language: str, function: Function) -> bool:
    # Constructors build the objects the tests call methods on; Rust's are the functions that
    # return Self, which Default may not be implemented for.
    return function.constructor or (language == "rust" and function.returns.strip() in ("Self", "Option<Self>"))


def trivial_variants(source: str, language: str) -> list[str]:
    """The code with every function body replaced by a trivial one, one program per variant
    (C, C++, Java, Go and Rust). Declarations, types and includes stay, so that the tests still
    compile against it; constructors keep their bodies."""
    found = [f for f in functions(source, language) if not _keeps_body(language, f)]
    if not found:
        return []
    count = max(len(_bodies(language, f)) for f in found)
    variants = []
    for variant in range(count):
        text = source
        for function in sorted(found, key=lambda f: f.body_open, reverse=True):
            bodies = _bodies(language, function)
            body = bodies[min(variant, len(bodies) - 1)]
            text = text[: function.body_open] + body + text[function.body_close + 1 :]
        if language == "go":
            text = _go_blank_unused_imports(text)
        if text not in variants:
            variants.append(text)
    return variants


def _go_blank_unused_imports(source: str) -> str:
    """A Go import only the replaced bodies used becomes `_`: an unused import does not compile."""
    used = identifiers(re.sub(r"(?s)^import\s*\(.*?\)|^import\s+[^\n]+", "", source, flags=re.M), "go")

    def fix(spec: str) -> str:
        found = re.match(r'\s*(?:(?P<alias>[\w.]+)\s+)?"(?P<path>[^"]+)"', spec)
        if not found or found.group("alias") in ("_", "."):
            return spec
        name = found.group("alias") or found.group("path").rsplit("/", 1)[-1]
        return spec if name in used else f'_ "{found.group("path")}"'

    def block(match: re.Match[str]) -> str:
        return "import (\n" + "\n".join(fix(line) for line in match.group(1).splitlines() if line.strip()) + "\n)"

    source = re.sub(r"(?s)^import\s*\((.*?)\)", block, source, flags=re.M)
    return re.sub(r'^import\s+((?:[\w.]+\s+)?"[^"]+")', lambda m: "import " + fix(m.group(1)), source, flags=re.M)


# JavaScript and TypeScript: a stand-in program that defines the solution's names and nothing else.
JS_TRIVIAL_VALUES = ("undefined", "0", "true", "[]", "''", "args[0]")


def js_trivial_variants(source: str, language: str) -> list[str]:
    """Programs defining each top-level name of the code as a function (or a class whose every
    method) returning one trivial value; other top-level names are undefined."""
    blanked = blank(source, language)
    names: dict[str, str] = {}
    for match in re.finditer(r"^(?:export\s+(?:default\s+)?)?(?:async\s+)?function\s*\*?\s*([\w$]+)", blanked, re.M):
        names.setdefault(match.group(1), "function")
    for match in re.finditer(r"^(?:export\s+)?class\s+([\w$]+)", blanked, re.M):
        names.setdefault(match.group(1), "class")
    requires = []
    for match in re.finditer(r"^(?:export\s+)?(?:const|let|var)\s+([\w$]+)\s*(?::[^=\n]+)?=\s*(?P<value>[^\n]*)", blanked, re.M):
        value = match.group("value")
        if value.startswith("require("):
            requires.append(source[match.start() : match.end()].strip())  # a module, not the solution's own
            continue
        kind = "function" if re.match(r"(?:async\s+)?(?:function\b|\([^)]*\)\s*(?::[^=]+)?=>|[\w$]+\s*=>)", value) else "value"
        names.setdefault(match.group(1), kind)
    if not names:
        return []
    typed = language == "typescript"
    args = "...args: any[]" if typed else "...args"
    any_ = ": any" if typed else ""
    variants = []
    for value in JS_TRIVIAL_VALUES:
        lines = list(requires)
        for name, kind in names.items():
            if kind == "function":
                lines.append(f"function {name}({args}){any_} {{ return {value}; }}")
            elif kind == "class":
                index = "  [key: string]: any;\n" if typed else ""
                lines.append(
                    f"class {name} {{\n{index}  constructor({args}) {{\n"
                    f"    return new Proxy(this, {{ get: (target{any_}, key{any_}) => key in target ? target[key] : "
                    f"({args}) => {value} }});\n  }}\n}}"
                )
            else:
                lines.append(f"var {name}{any_} = undefined;")
        variants.append("\n".join(lines) + "\n")
    return variants
