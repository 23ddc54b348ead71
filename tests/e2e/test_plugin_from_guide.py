"""A third-party plugin written from docs/plugins.md alone, driven through the real ``evol`` CLI.

``evol-riddles`` uses every hook the guide documents: a ``riddle`` domain (two operations, one
weighted, its own ``--min-cleverness`` option (a DomainOptions model) and responder), an operation added to ``general``,
an async verdict filter reading a score, an LLM-judge scorer asking for structured output, an
export format, a curation rule, a report section with a chart, a command, and a per-build
resource (``build_resources``) keeping a journal file open in ``run.resources``, a build option it adds to
``general`` (``ExtraOptions``) that the operation there is bound to, and a provenance entry on evolved riddles. It is written as a throw-away
distribution (module + ``.dist-info``) into a temporary folder put on PYTHONPATH, so the real
entry-point discovery finds it, and every build talks HTTP to the loopback server.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from evolinstruct import GIVEN_LABEL
from evolinstruct.testing import LoopbackLLM, Rule
from tests.conftest import evol

RIDDLES_PLUGIN = '''
"""evol-riddles: riddle-writing instructions that grow harder each round, judged for cleverness."""

from __future__ import annotations

import json
import re
from contextlib import contextmanager

import click
from pydantic import Field

from evolinstruct import (
    GIVEN_LABEL,
    REWRITTEN_LABEL,
    BuildResource,
    Domain,
    DomainOptions,
    Exporter,
    ExtraOperation,
    ExtraOptions,
    Filter,
    Operation,
    ProvenanceEntry,
    Score,
    Scorer,
    build_resources,
    hookimpl,
    row_rule,
)
from evolinstruct.report import Chart, Histogram, ReportSection, SectionContent, histogram_bars, number_or_none

REWRITE = f"""\\
Rewrite the riddle request below so that the riddle is harder to solve: {{how}} Reply with the \\
rewritten request alone.

{GIVEN_LABEL}
{{instruction}}

{REWRITTEN_LABEL}
"""

HOW = {
    "misdirect": "ask for a clue that points to a wrong answer first.",
    "add-rhyme": "ask for the riddle to rhyme.",
    "as-riddle": "turn the request into one that asks for a riddle whose answer is its subject.",
}

JUDGE = """\\
Rate how clever this riddle and its answer are, from 1 (plain) to 10 (brilliant).

Riddle: {instruction}
Answer: {response}
"""

CLEVERNESS_FORMAT = {
    "type": "json_schema",
    "json_schema": {
        "name": "cleverness",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {
                "cleverness": {"type": "integer", "minimum": 1, "maximum": 10},
                "why": {"type": "string"},
            },
            "required": ["cleverness", "why"],
            "additionalProperties": False,
        },
    },
}

JOURNAL = "riddle-journal.txt"


class RiddleOptions(DomainOptions):
    min_cleverness: float = Field(5.0, ge=1, le=10)
    """riddle: eliminate evolved riddles the judge rates below this."""


class RiddleHintOptions(DomainOptions):
    riddle_hint: str = ""
    """riddles: a hint the as-riddle operation adds to its request (general domain)."""


def operation(name, weight=1.0, hint="", bind=None):
    def prompt(sample, rng):
        how = HOW[name] + (f" Hint: {hint}" if hint else "")
        return ({"role": "user", "content": REWRITE.format(how=how, instruction=sample.instruction)},)

    return Operation(name, prompt, tags=("riddle",), description=HOW[name], weight=weight, bind=bind)


def as_riddle_for(options):
    return operation("as-riddle", hint=options.riddle_hint).prompt


def riddle_bar(sample, options):
    return {"min_cleverness": options.min_cleverness} if sample.round > 0 else None


async def respond(ctx, sample):
    messages = (
        {"role": "system", "content": "You answer riddles: the answer alone, on one line."},
        {"role": "user", "content": sample.instruction},
    )
    return sample.replace(response=await ctx.chat(messages, stage="respond"))


def read_cleverness(text):
    """The judge's rating: JSON first, then a lone number in plain text; None when neither is there."""
    try:
        reply = json.loads(text)
    except ValueError:
        numbers = re.findall(r"\\b(?:10|[1-9])\\b", text)
        value = float(numbers[0]) if len(numbers) == 1 else None
    else:
        value = number_or_none(reply.get("cleverness")) if isinstance(reply, dict) else None
    return value if value is not None and 1 <= value <= 10 else None


async def judge_cleverness(ctx, sample):
    prompt = JUDGE.format(instruction=sample.instruction, response=sample.response)
    completion = await ctx.complete(
        [{"role": "user", "content": prompt}], stage="judge", temperature=0, response_format=CLEVERNESS_FORMAT
    )
    value = read_cleverness(completion.text)
    journal = ctx.resources.get("riddle-journal")
    if journal is not None:
        journal.write(f"judged {sample.id}: {value}\\n")
    return Score(checks={"cleverness": {"structured": completion.structured}}, scores={"cleverness": value})


async def too_plain(ctx, sample):
    value = sample.scores.get("cleverness")
    if value is None:
        return "the cleverness judge's reply could not be read"
    limit = ctx.options.min_cleverness
    return f"cleverness {value:g} is below {limit:g}" if value < limit else None


def gives_answer_away(row):
    answer = (row.get("response") or "").strip().lower().rstrip(".")
    if answer and answer in row["instruction"].lower():
        return f"the riddle contains its answer ({answer!r})"
    return None


def write_cards(rows, path):
    with open(path, "w", encoding="utf-8") as out:
        for row in rows:
            card = {"riddle": row["instruction"], "answer": row["response"], "cleverness": row["scores"].get("cleverness")}
            out.write(json.dumps(card) + "\\n")


def render_cleverness(report):
    counts = {"kept": [0] * 10, "eliminated": [0] * 10}
    missing = {"kept": 0, "eliminated": 0}
    for kind, row in report.rows("kept", "eliminated"):
        if "cleverness" not in row["scores"]:
            continue
        value = number_or_none(row["scores"]["cleverness"])
        if value is None:
            missing[kind] += 1
        else:
            counts[kind][int(value) - 1] += 1
    judged = sum(map(sum, counts.values())) + sum(missing.values())
    if not judged:
        return None
    histograms = {kind: Histogram(0.5, 10.5, tuple(counts[kind]), missing=missing[kind]) for kind in counts}
    figure = histogram_bars("Cleverness of judged riddles", histograms, x_title="cleverness (1-10)")
    text = f"<p>{judged} riddles judged; the judge's reply could not be read for {sum(missing.values())}.</p>"
    chart = Chart("riddle-cleverness", figure.to_dict(), "every judged riddle, kept or eliminated")
    return SectionContent(html=text, charts=(chart,))


@click.command("riddles")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
def riddles_command(folder):
    """Count a build's riddles and their mean cleverness."""
    values = []
    with open(f"{folder}/dataset.jsonl", encoding="utf-8") as rows:
        for line in rows:
            values.append(number_or_none(json.loads(line)["scores"].get("cleverness")))
    rated = [v for v in values if v is not None]
    mean = f"{sum(rated) / len(rated):.2f}" if rated else "unknown"
    click.echo(f"{len(values)} riddles, {len(rated)} rated, mean cleverness {mean}")


@hookimpl
def evol_domains():
    yield Domain(
        name="riddle",
        description="Riddle-writing instructions, judged for cleverness",
        operations=(operation("misdirect", weight=3.0), operation("add-rhyme")),
        respond=respond,
        options=RiddleOptions,
        requests=lambda options: {"respond": 1},
    )


@hookimpl
def evol_operations():
    yield ExtraOperation("general", operation("as-riddle", bind=as_riddle_for))


@hookimpl
def evol_build_options():
    yield ExtraOptions("riddle-hint", RiddleHintOptions, domains=("general",))


@hookimpl
def evol_provenance():
    yield ProvenanceEntry("riddle-bar", riddle_bar, domains=("riddle",),
                          description="the cleverness an evolved riddle had to reach")


@hookimpl
def evol_filters():
    yield Filter("too-plain", "verdict", too_plain, domains=("riddle",),
                 description="the judge must rate the riddle at least --min-cleverness", requests=lambda options: {})


@hookimpl
def evol_scorers():
    yield Scorer("cleverness", judge_cleverness, domains=("riddle",), description="an LLM judge's 1-10 rating",
                 requests=lambda options: {"judge": 1})


@hookimpl
def evol_exporters():
    yield Exporter("riddle-cards", write_cards, "riddle-cards.jsonl", description="riddle, answer and cleverness")


@hookimpl
def evol_curation_rules():
    yield row_rule("answer-in-riddle", "riddles that contain their own answer", ("instruction", "response"),
                   gives_answer_away, domains=("riddle",))


@hookimpl
def evol_report_sections():
    yield ReportSection("riddle-cleverness", "Cleverness", render_cleverness, domains=("riddle",))


@hookimpl
def evol_commands():
    yield riddles_command


@contextmanager
def riddle_journal(run):
    journal = open(run.out_dir / JOURNAL, "a", encoding="utf-8")
    journal.write("opened\\n")
    try:
        yield journal
    finally:
        journal.write("closed\\n")
        journal.close()


evol_run_start, evol_run_end = build_resources(BuildResource("riddle-journal", riddle_journal, domains=("riddle",)))
'''

# A scorer with a bug: it raises on every sample it is given.
BROKEN_PLUGIN = '''
from evolinstruct import Scorer, hookimpl


async def explode(ctx, sample):
    raise ValueError(f"cannot score {sample.id}")


@hookimpl
def evol_scorers():
    yield Scorer("explodes", explode, domains=("riddle",), requests=lambda options: {})
'''

# The report section as the guide's wording suggests it: histogram_bars' figure handed to Chart.
FIGURE_PLUGIN = '''
from evolinstruct import hookimpl
from evolinstruct.report import Chart, Histogram, ReportSection, SectionContent, histogram_bars


def render(report):
    rows = sum(1 for _ in report.rows())
    figure = histogram_bars("Rows", {"rows": Histogram(0.0, 1.0, (rows,))}, x_title="all")
    return SectionContent(html="<p>rows</p>", charts=(Chart("all-rows", figure, "every row"),))


@hookimpl
def evol_report_sections():
    yield ReportSection("all-rows", "All rows", render)
'''

# A report section with a bug.
BROKEN_SECTION_PLUGIN = '''
from evolinstruct import ReportSection, hookimpl


def render(report):
    raise KeyError("no such column")


@hookimpl
def evol_report_sections():
    yield ReportSection("broken-section", "Broken", render)
'''

SEEDS = [
    {"id": "r1", "instruction": "Write a riddle whose answer is a candle."},
    {"id": "r2", "instruction": "Write a riddle whose answer is a shadow."},
    {"id": "r3", "instruction": "Write a riddle whose answer is an echo."},
]

EVOLVED = {seed["id"]: seed["instruction"].rstrip(".") + "; open with a false clue." for seed in SEEDS}

# Rules are tried in order and match the last user message. The judge's prompt quotes the riddle
# and the rewrite prompt quotes the seed, so the narrow rules come first.
RULES = (
    Rule(contains="Not Equal", reply="Not Equal"),
    *(
        Rule(contains=GIVEN_LABEL, pattern=re.escape(seed["instruction"]), reply=EVOLVED[seed["id"]])
        for seed in SEEDS
    ),
    Rule(contains=f"Riddle: {EVOLVED['r1']}", reply='{"cleverness": 2, "why": "the false clue is weak"}'),
    Rule(contains=f"Riddle: {EVOLVED['r2']}", reply='{"cleverness": 4, "why": "a fair misdirection"}'),
    Rule(contains=f"Riddle: {EVOLVED['r3']}", reply="I cannot rate riddles."),
    Rule(contains="Rate how clever", reply='{"cleverness": 7, "why": "a classic"}'),
    # The answer to the first seed gives itself away, for the curation rule to find.
    Rule(pattern=r"\AWrite a riddle whose answer is a candle\.\Z", reply="A candle."),
)

ALL_HOOKS = [
    "evol_build_options", "evol_commands", "evol_curation_rules", "evol_domains", "evol_exporters", "evol_filters",
    "evol_operations", "evol_provenance", "evol_report_sections", "evol_run_end", "evol_run_start", "evol_scorers",
]


def write_distribution(root: Path, distribution: str, plugin: str, module: str, source: str) -> Path:
    """A module and its .dist-info: what `pip install` leaves behind, found through PYTHONPATH."""
    root.mkdir(parents=True, exist_ok=True)
    (root / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    info = root / f"{module}-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 0.1.0\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[evolinstruct]\n{plugin} = {module}\n", encoding="utf-8")
    return root


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def write_seeds(path: Path, seeds: list[dict]) -> Path:
    path.write_text("".join(json.dumps(seed) + "\n" for seed in seeds), encoding="utf-8")
    return path


class Riddles:
    """The plugin on PYTHONPATH, a loopback server, and a way to run `evol` against both."""

    def __init__(self, folder: Path, server: LoopbackLLM) -> None:
        self.folder = folder
        self.server = server
        self.plugin_dir = write_distribution(folder / "site", "evol-riddles", "riddles", "evol_riddles", RIDDLES_PLUGIN)
        self.seeds = write_seeds(folder / "seeds.jsonl", SEEDS)

    def evol(self, *args: str, also: tuple[Path, ...] = (), server: LoopbackLLM | None = None):
        server = server or self.server
        path = ":".join(str(p) for p in (self.plugin_dir, *also))
        env = {"PYTHONPATH": path, "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-loopback"}
        return evol(*args, env=env)

    def build(self, out: Path, *args: str, **kwargs):
        return self.evol("build", "--domain", "riddle", "--seeds", str(self.seeds), "--out", str(out),
                         "--rounds", "1", "--no-progress", *args, **kwargs)


@pytest.fixture(scope="module")
def riddles(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Riddles]:
    with LoopbackLLM(rules=RULES) as server:
        yield Riddles(tmp_path_factory.mktemp("riddles"), server)


@pytest.fixture(scope="module")
def built(riddles: Riddles) -> Path:
    """One riddle build with --min-cleverness 4, shared by the tests that read its folder."""
    out = riddles.folder / "build"
    result = riddles.build(out, "--min-cleverness", "4")
    assert result.returncode == 0, result.stderr
    return out


def test_plugins_list_shows_every_hook_and_the_domain_its_operations_and_option(riddles: Riddles) -> None:
    listed = json.loads(riddles.evol("plugins", "list", "--json").stdout)
    plugin = next(p for p in listed if p["name"] == "riddles")
    assert (plugin["distribution"], plugin["version"], plugin["status"]) == ("evol-riddles", "0.1.0", "active")
    assert plugin["hooks"] == ALL_HOOKS

    domains = {d["name"]: d for d in json.loads(riddles.evol("domains", "list", "--json").stdout)}
    riddle = domains["riddle"]
    assert riddle["plugin"] == "riddles"
    # Its own operations and options first; other installed plugins may add some to every domain.
    assert [(op["name"], op["weight"]) for op in riddle["operations"]][:2] == [("misdirect", 3.0), ("add-rhyme", 1.0)]
    assert all(op["weight"] == 0.0 for op in riddle["operations"][2:])
    assert riddle["options"][:1] == ["--min-cleverness"]
    assert "as-riddle" in [op["name"] for op in domains["general"]["operations"]]

    assert "riddle-cards" in riddles.evol("export", "--help").stdout
    assert "--min-cleverness" in riddles.evol("build", "--help").stdout
    assert riddles.evol("riddles", "--help").returncode == 0


def test_the_build_runs_the_domain_its_filter_and_its_scorer(riddles: Riddles, built: Path) -> None:
    kept = {row["id"]: row for row in read_jsonl(built / "dataset.jsonl")}
    eliminated = {row["id"]: row for row in read_jsonl(built / "eliminated.jsonl")}
    assert read_jsonl(built / "failed.jsonl") == []

    # The seeds are judged 7; the evolved shadow riddle 4, which --min-cleverness 4 keeps.
    assert {key: row["scores"]["cleverness"] for key, row in kept.items()} == {"r1": 7.0, "r2": 7.0, "r3": 7.0, "r2/r1": 4.0}
    assert kept["r2/r1"]["instruction"] == EVOLVED["r2"]
    assert kept["r2/r1"]["operation"] in {"misdirect", "add-rhyme"}
    assert all(row["checks"]["cleverness"] == {"structured": True} for row in kept.values())
    assert kept["r1"]["response"] == "A candle."

    # The verdict filter eliminates a low rating and an unreadable one (a null score, never a guess).
    assert {key: row["elimination"] for key, row in eliminated.items()} == {
        "r1/r1": {"filter": "too-plain", "reason": "cleverness 2 is below 4"},
        "r3/r1": {"filter": "too-plain", "reason": "the cleverness judge's reply could not be read"},
    }
    assert eliminated["r3/r1"]["scores"] == {"cleverness": None}
    # The provenance entry: on every evolved riddle, kept or eliminated, and on no seed.
    rows = [*kept.values(), *eliminated.values()]
    assert all(row["provenance"]["riddle-bar"] == {"min_cleverness": 4.0} for row in rows if row["round"] > 0)
    assert all("riddle-bar" not in row["provenance"] for row in rows if row["round"] == 0)

    judged = [r for r in riddles.server.requests if "Rate how clever" in r.body["messages"][-1]["content"]]
    assert judged and all(r.body["response_format"]["json_schema"]["name"] == "cleverness" for r in judged)
    manifest = json.loads((built / "manifest.json").read_text())
    assert manifest["versions"]["plugins"]["riddles"] == "0.1.0"


def test_the_domain_option_reaches_the_filter(riddles: Riddles, built: Path) -> None:
    out = riddles.folder / "default-threshold"
    result = riddles.build(out)
    assert result.returncode == 0, result.stderr
    eliminated = {row["id"]: row["elimination"]["reason"] for row in read_jsonl(out / "eliminated.jsonl")}
    # The default --min-cleverness is 5: the shadow riddle rated 4 no longer passes.
    assert eliminated["r2/r1"] == "cleverness 4 is below 5"
    assert {row["id"] for row in read_jsonl(out / "dataset.jsonl")} == {"r1", "r2", "r3"}


def test_run_start_opens_the_journal_the_scorer_writes_to_and_run_end_closes_it(built: Path) -> None:
    lines = (built / "riddle-journal.txt").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "opened" and lines[-1] == "closed"
    assert sorted(lines[1:-1]) == sorted([
        "judged r1: 7.0", "judged r2: 7.0", "judged r3: 7.0",
        "judged r1/r1: 2.0", "judged r2/r1: 4.0", "judged r3/r1: None",
    ])


def test_dry_run_counts_the_declared_requests_and_sends_nothing(riddles: Riddles) -> None:
    before = riddles.server.request_count
    out = riddles.folder / "dry"
    result = riddles.build(out, "--dry-run", "--rounds", "2")
    assert result.returncode == 0, result.stderr
    stages = dict(re.findall(r"^\s+(\w+)\s+(\d+)\s", result.stdout, re.MULTILINE))
    # 3 seeds and 3 x 2 evolved candidates are answered and judged at most once each.
    assert (stages["respond"], stages["judge"]) == ("9", "9")
    assert "not counted" not in result.stdout + result.stderr
    assert riddles.server.request_count == before
    assert not out.exists()


def test_export_writes_the_plugin_format_after_the_shared_filters(riddles: Riddles, built: Path) -> None:
    result = riddles.evol("export", str(built), "--format", "riddle-cards")
    assert result.returncode == 0, result.stderr
    cards = read_jsonl(built / "riddle-cards.jsonl")
    assert [(c["riddle"], c["cleverness"]) for c in cards] == [
        (SEEDS[0]["instruction"], 7.0), (SEEDS[1]["instruction"], 7.0), (EVOLVED["r2"], 4.0), (SEEDS[2]["instruction"], 7.0),
    ]
    assert cards[0]["answer"] == "A candle."

    best = riddles.folder / "best.jsonl"
    result = riddles.evol("export", str(built), "--format", "riddle-cards", "--min-score", "cleverness=5", "--output", str(best))
    assert result.returncode == 0, result.stderr
    assert [c["riddle"] for c in read_jsonl(best)] == [seed["instruction"] for seed in SEEDS]


def test_curate_applies_the_plugin_rule(riddles: Riddles, built: Path) -> None:
    result = riddles.evol("curate", str(built))
    assert result.returncode == 0, result.stderr
    removed = read_jsonl(built / "curated" / "removed.jsonl")
    assert [(row["id"], row["removal"]["rule"], row["removal"]["reason"]) for row in removed] == [
        ("r1", "answer-in-riddle", "the riddle contains its answer ('a candle')"),
    ]
    assert [row["id"] for row in read_jsonl(built / "curated" / "dataset.jsonl")] == ["r2", "r2/r1", "r3"]
    summary = json.loads((built / "curated" / "curation.json").read_text())
    assert summary["removed_per_rule"]["answer-in-riddle"] == 1

    result = riddles.evol("curate", str(built), "--skip", "answer-in-riddle")
    assert result.returncode == 0, result.stderr
    assert read_jsonl(built / "curated" / "removed.jsonl") == []


def charts_of(page: str) -> dict[str, object]:
    found = re.search(r'<script type="application/json" id="evol-charts">(.*?)</script>', page, re.DOTALL)
    assert found, "the report page embeds no charts"
    return {chart["id"]: chart["figure"] for chart in json.loads(found.group(1))["charts"]}


def test_report_shows_the_plugin_section_and_its_chart(riddles: Riddles, built: Path) -> None:
    page_path = riddles.folder / "report.html"
    result = riddles.evol("report", str(built), "--output", str(page_path), "--no-card")
    assert result.returncode == 0, result.stderr
    page = page_path.read_text(encoding="utf-8")
    section = re.search(r'<section id="riddle-cleverness">(.*?)</section>', page, re.DOTALL)
    assert section, "the plugin's section is missing"
    assert "<h2>Cleverness</h2>" in section.group(1)
    assert "6 riddles judged; the judge's reply could not be read for 1." in section.group(1)
    figures = [figure for name, figure in charts_of(page).items() if "riddle-cleverness" in name]
    assert len(figures) == 1 and isinstance(figures[0], dict), figures
    bars = {trace["name"]: trace["y"] for trace in figures[0]["data"]}
    assert bars == {"kept": [0, 0, 0, 1, 0, 0, 3, 0, 0, 0], "eliminated": [0, 1, 0, 0, 0, 0, 0, 0, 0, 0]}


def test_the_plugin_command_runs(riddles: Riddles, built: Path) -> None:
    result = riddles.evol("riddles", str(built))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "4 riddles, 4 rated, mean cleverness 6.25"


def test_the_operation_added_to_general_is_drawn_there(riddles: Riddles) -> None:
    out = riddles.folder / "general"
    result = riddles.evol("build", "--domain", "general", "--seeds", str(riddles.seeds), "--out", str(out),
                          "--rounds", "1", "--limit", "1", "--schedule", "as-riddle", "--no-progress")
    assert result.returncode == 0, result.stderr
    evolved = [row for row in read_jsonl(out / "dataset.jsonl") if row["round"] == 1]
    assert [(row["id"], row["operation"], row["instruction"]) for row in evolved] == [("r1/r1", "as-riddle", EVOLVED["r1"])]
    assert "riddle-journal.txt" not in {p.name for p in out.iterdir()}, "run_start opened the journal for another domain"
    assert all("riddle-bar" not in row["provenance"] for row in read_jsonl(out / "dataset.jsonl"))
    # The option the plugin adds to general reaches the operation bound to it.
    assert "Hint:" not in "".join(r.last_user_message for r in riddles.server.requests)
    hinted = riddles.evol("build", "--domain", "general", "--seeds", str(riddles.seeds), "--out", str(out.with_name("hinted")),
                          "--rounds", "1", "--limit", "1", "--schedule", "as-riddle", "--riddle-hint", "think of light",
                          "--no-progress")
    assert hinted.returncode == 0, hinted.stderr
    assert sum("Hint: think of light" in r.last_user_message for r in riddles.server.requests) == 1


def test_the_scorer_reads_plain_text_from_an_endpoint_without_structured_output(riddles: Riddles) -> None:
    rules = (Rule(contains="Rate how clever", reply="Cleverness: 8 (a neat pun)"),)
    with LoopbackLLM(rules=rules, structured_output=False) as plain:
        out = riddles.folder / "plain"
        result = riddles.build(out, "--rounds", "0", server=plain)
        assert result.returncode == 0, result.stderr
        statuses = [r.status for r in plain.requests if "Rate how clever" in r.body["messages"][-1]["content"]]
    rows = read_jsonl(out / "dataset.jsonl")
    assert [(row["scores"]["cleverness"], row["checks"]["cleverness"]) for row in rows] == [(8.0, {"structured": False})] * 3
    assert 400 in statuses and statuses.count(200) == 3


def test_a_scorer_that_always_raises_stops_the_build_with_exit_4_naming_its_plugin(riddles: Riddles) -> None:
    broken = write_distribution(riddles.folder / "broken-site", "evol-broken", "broken", "evol_broken", BROKEN_PLUGIN)
    seeds = write_seeds(riddles.folder / "eight.jsonl", [{"id": f"s{i}", "instruction": f"Write a riddle about the number {i}."} for i in range(8)])
    out = riddles.folder / "aborted"
    result = riddles.evol("build", "--domain", "riddle", "--seeds", str(seeds), "--out", str(out), "--rounds", "1",
                          "--no-progress", also=(broken,))
    assert result.returncode == 4, result.stderr
    assert "scorer 'explodes' of plugin 'broken'" in result.stderr
    assert "ValueError: cannot score" in result.stderr
    failed = read_jsonl(out / "failed.jsonl")
    assert failed and all(row["where"] == "scorer 'explodes' of plugin 'broken'" for row in failed)
    assert json.loads((out / "manifest.json").read_text())["status"] == "aborted"
    # run_end ran although the build was aborted.
    assert (out / "riddle-journal.txt").read_text(encoding="utf-8").splitlines()[-1] == "closed"



# A plugin whose run_start refuses the build, called after the riddle plugin's has opened its journal.
REFUSING_PLUGIN = '''
from evolinstruct import EvolError, hookimpl


@hookimpl(trylast=True)
def evol_run_start(run):
    raise EvolError("the refusing plugin will not run this build")
'''


def test_run_end_closes_what_one_plugin_opened_when_another_plugins_run_start_refuses(riddles: Riddles) -> None:
    refusing = write_distribution(riddles.folder / "refusing-site", "evol-refusing", "refusing", "evol_refusing",
                                  REFUSING_PLUGIN)
    out = riddles.folder / "refused"
    result = riddles.build(out, also=(refusing,))
    assert result.returncode == 2, result.stderr
    assert "the refusing plugin will not run this build" in result.stderr and "Traceback" not in result.stderr
    assert (out / "riddle-journal.txt").read_text(encoding="utf-8").splitlines() == ["opened", "closed"]
    assert not (out / "dataset.jsonl").read_text()


def test_the_abort_message_and_failed_jsonl_count_the_same_failures(riddles: Riddles) -> None:
    broken = write_distribution(riddles.folder / "broken-count", "evol-broken", "broken", "evol_broken", BROKEN_PLUGIN)
    seeds = write_seeds(riddles.folder / "count.jsonl", [{"id": f"c{i}", "instruction": f"Write a riddle about the colour {i}."} for i in range(8)])
    out = riddles.folder / "aborted-count"
    result = riddles.evol("build", "--domain", "riddle", "--seeds", str(seeds), "--out", str(out), "--rounds", "1",
                          "--no-progress", also=(broken,))
    assert result.returncode == 4, result.stderr
    in_a_row = int(re.search(r"failed on (\d+) samples in a row", result.stderr).group(1))
    assert len(read_jsonl(out / "failed.jsonl")) == in_a_row
    assert json.loads((out / "manifest.json").read_text())["counts"]["failed"] == in_a_row



def test_a_figure_given_to_chart_as_is_is_drawn_or_refused(riddles: Riddles, built: Path) -> None:
    figure_site = write_distribution(riddles.folder / "figure-site", "evol-figure", "figure", "evol_figure", FIGURE_PLUGIN)
    page_path = riddles.folder / "figure.html"
    result = riddles.evol("report", str(built), "--output", str(page_path), "--no-card", also=(figure_site,))
    if result.returncode != 0:  # refusing the figure with a message naming the section is fine too
        assert "all-rows" in result.stderr and "Traceback" not in result.stderr
        return
    figures = [figure for name, figure in charts_of(page_path.read_text(encoding="utf-8")).items() if "all-rows" in name]
    assert figures and isinstance(figures[0], dict), str(figures)[:200]



def test_a_report_section_that_raises_is_reported_naming_its_plugin(riddles: Riddles, built: Path) -> None:
    site = write_distribution(riddles.folder / "broken-section-site", "evol-broken-section", "brokensection",
                              "evol_broken_section", BROKEN_SECTION_PLUGIN)
    result = riddles.evol("report", str(built), "--output", str(riddles.folder / "broken.html"), "--no-card", also=(site,))
    assert result.returncode != 0
    assert "Traceback (most recent call last)" not in result.stderr
    assert "brokensection" in result.stderr and "broken-section" in result.stderr
