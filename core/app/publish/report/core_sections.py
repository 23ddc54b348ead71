"""The core's sections of the report: the run, the rounds, the eliminations, the instructions,
the scores and checks, and the curation. Domain plugins add theirs after these."""

from __future__ import annotations

from ....runtime.engine import NOT_CHOSEN
from ....types.registrations import ReportSection
from ....types.report import Chart, SectionContent
from .charts import STATUS_COLORS, boxes_per_round, stacked_bars
from .curation import curation_is_stale
from .markup import Raw, escape, key_values, note, number, paragraph, table
from .model import BuildReport, RoleNumbers
from .quality import quality_content

OFFLINE_WARNING = (
    "This build ran against the bundled offline model: its instructions and answers are "
    "placeholder text that exercises the pipeline, not a model's output, and the numbers its "
    "judges gave (difficulty, instruction scores, step verdicts, rankings) are placeholders of the "
    "asked shape, not judgements."
)
OFFLINE_SCORES = (
    "The bundled offline model wrote this build: the judges' numbers below are placeholders, not "
    "judgements. Only the checks that need no model (sympy, test runs) computed something, and on "
    "placeholder text."
)


def run_content(report: BuildReport) -> SectionContent:
    run = report.run
    parts = []
    if run.offline:
        parts.append(note(OFFLINE_WARNING, kind="warning"))
    command = Raw(f"<code>{escape(' '.join(run.command))}</code>") if run.command else None
    versions = dict(run.versions)
    plugins = versions.pop("plugins", None)
    versions_text = ", ".join(f"{name} {version}" for name, version in versions.items()) or None
    plugins_text = ", ".join(f"{name} {version}" for name, version in plugins.items()) if isinstance(plugins, dict) else plugins
    facts = [
        ("status", run.status),
        ("command", command),
        ("domain", report.domain),
        ("model", run.model),
        ("endpoint", "the bundled offline model" if run.offline else run.endpoint),
        ("rounds", run.rounds),
        ("decoding", dict(run.decoding) if run.decoding is not None else None),
        ("seeds file", run.seeds.get("file")),
        ("seeds in the rows", report.seeds),
        ("versions", versions_text),
        ("plugins", plugins_text),
        ("wall time (last invocation)", f"{run.wall_time_s:,.1f} s" if run.wall_time_s is not None else None),
        ("manifest written", run.written_at),
    ]
    requests = run.requests
    if requests:
        facts.append(
            (
                "requests (last invocation)",
                f"{number(requests.get('sent'))} sent, {number(requests.get('from_cache'))} from the cache, "
                f"{number(requests.get('retries'))} retries, {number(requests.get('failed'))} failed",
            )
        )
    else:
        facts.append(("requests (last invocation)", None))
    parts.append(key_values(facts))
    if run.config:
        parts.append(f"<details><summary>configuration</summary>{key_values(run.config)}</details>")

    priced = report.prices is not None
    headers = ["stage", "requests", "prompt tokens", "completion tokens", "total tokens"]
    if priced:
        headers.append("cost")
    rows = []
    for used in (*report.usage, report.total_usage):
        row = [used.stage, used.requests, used.prompt_tokens, used.completion_tokens, used.total_tokens]
        if priced:
            row.append(f"{report.cost(used):,.4f}")
        rows.append(row)
    parts.append("<h3>Requests and tokens per stage</h3>")
    parts.append(
        paragraph(
            "Counted from the usage every row records: all the responses the dataset rests on, "
            "whether this invocation or an earlier one paid for them (a rerun reads them from the cache)."
        )
    )
    parts.append(table(headers, rows))
    if run.roles:
        parts.append("<h3>Per role (last invocation)</h3>")
        parts.append(paragraph(
            "From manifest.json: the requests each role's model was sent in the build's last invocation, the "
            "answers it read from the cache, its failures, tokens, mean latency and cost (unknown: the model has "
            "no price). An earlier invocation's requests are not counted here."
        ))
        parts.append(table(RoleNumbers.HEADERS, [role.cells() for role in run.roles]))
    if priced:
        assert report.prices is not None
        parts.append(
            paragraph(
                f"Cost at {report.prices.per_million_in:g} per million prompt tokens and "
                f"{report.prices.per_million_out:g} per million completion tokens: "
                f"{report.cost(report.total_usage):,.4f}."
            )
        )
    else:
        parts.append(note("Give --price-in and --price-out (per million tokens) to see the cost."))
    charts = []
    if report.usage:
        figure = stacked_bars(
            "Tokens per stage",
            [used.stage for used in report.usage],
            {
                "prompt": [used.prompt_tokens for used in report.usage],
                "completion": [used.completion_tokens for used in report.usage],
            },
            value_title="tokens",
        )
        charts.append(Chart.of("tokens-per-stage", figure))
    return SectionContent("".join(parts), tuple(charts))


def rounds_content(report: BuildReport) -> SectionContent:
    rounds = report.rounds
    evolved = sum(counts.kept for counts in rounds if counts.round > 0)
    # The kept seeds are round 0's kept rows (a seed whose answer failed has none), so the parts add up.
    summary = paragraph(
        f"{report.kept:,} samples kept ({report.kept - evolved:,} seeds and {evolved:,} evolved), "
        f"{report.eliminated:,} candidates eliminated, {report.failed:,} failed."
    )
    has_skipped = any(counts.skipped for counts in rounds)
    headers = ["round", "kept", "eliminated", "failed", "not reached"]
    rows = [
        (counts.round, counts.kept, counts.eliminated, counts.failed, counts.skipped)
        for counts in rounds
    ]
    series = {
        "kept": [counts.kept for counts in rounds],
        "eliminated": [counts.eliminated for counts in rounds],
        "failed": [counts.failed for counts in rounds],
    }
    if has_skipped:
        series["not reached"] = [counts.skipped or 0 for counts in rounds]
    figure = stacked_bars(
        "Kept, eliminated and failed per round",
        [f"round {counts.round}" for counts in rounds],
        series,
        value_title="samples",
        colors=STATUS_COLORS,
    )
    explain = paragraph(
        "Round 0 holds the seeds. Skipped: lineages that stopped at an earlier round's failure and "
        "never reached this round."
    )
    return SectionContent(summary + explain + table(headers, rows), (Chart.of("rounds", figure),))


def eliminations_content(report: BuildReport) -> SectionContent:
    parts = []
    charts = []
    if report.filters:
        parts.append(
            paragraph(f"{report.eliminated:,} candidates eliminated by {len(report.filters)} filters.")
        )
        not_chosen = sum(report.filters.get(name, 0) for name in NOT_CHOSEN)
        if not_chosen:
            parts.append(
                note(
                    f"{not_chosen:,} of them are candidates of a ranked round that were not chosen (outranked: "
                    "a lower or tied score; unranked: no score; same-text: the text of another candidate): the domain evolves several candidates per "
                    "round and continues with the best, so these are not failed evolutions."
                )
            )
        figure = stacked_bars(
            "Eliminations per filter",
            list(report.filters),
            {"eliminated": list(report.filters.values())},
            value_title="candidates",
            colors=STATUS_COLORS,
            horizontal=True,
        )
        charts.append(Chart.of("eliminations-per-filter", figure))
    else:
        parts.append(note("No candidate was eliminated."))
    operations = report.operations
    if operations:
        figure = stacked_bars(
            "Outcome per operation (rounds 1 and later)",
            [counts.operation for counts in operations],
            {
                "kept": [counts.kept for counts in operations],
                "eliminated": [counts.eliminated for counts in operations],
                "failed": [counts.failed for counts in operations],
            },
            value_title="candidates",
            colors=STATUS_COLORS,
            horizontal=True,
        )
        charts.append(Chart.of("outcome-per-operation", figure))
        filters = list(report.filters)
        rows = []
        for counts in operations:
            attempted = counts.kept + counts.eliminated + counts.failed
            share = f"{counts.eliminated / attempted:.1%}" if attempted else "n/a"
            rows.append(
                (
                    counts.operation,
                    attempted,
                    counts.kept,
                    counts.eliminated,
                    share,
                    *(report.eliminations.get((counts.operation, name), 0) for name in filters),
                )
            )
        parts.append(
            table(["operation", "candidates", "kept", "eliminated", "eliminated share", *filters], rows)
        )
    return SectionContent("".join(parts), tuple(charts))


def instructions_content(report: BuildReport) -> SectionContent:
    charts = []
    parts = []
    words = {kind: per_round for kind, per_round in report.instruction_words.items()}
    if words:
        figure = boxes_per_round(
            "Instruction length per round (words)", words, y_title="words", colors=STATUS_COLORS
        )
        charts.append(
            Chart.of("instruction-words", figure, "Boxes: quartiles; whiskers: min and max; dashed: mean.")
        )
    if report.difficulty and report.run.offline:
        parts.append(
            note(
                "Difficulty per round is not drawn: the ratings in scores.difficulty come from the bundled "
                "offline model, whose judge replies are placeholders, not ratings.",
                kind="warning",
            )
        )
    elif report.difficulty:
        figure = boxes_per_round(
            "Difficulty per round (scores.difficulty)", report.difficulty, y_title="difficulty", colors=STATUS_COLORS
        )
        scored = sum(summary.count for per_round in report.difficulty.values() for summary in per_round.values())
        charts.append(Chart.of("difficulty", figure, f"{scored:,} samples carry scores.difficulty."))
    else:
        parts.append(
            note(
                "No sample carries scores.difficulty, so difficulty per round is not drawn "
                "(the difficulty scorer rates each instruction 1-10, as the WizardLM paper did)."
            )
        )
    return SectionContent("".join(parts), tuple(charts))


def scores_content(report: BuildReport) -> SectionContent | None:
    if not report.scores and not report.checks:
        return None
    parts = []
    if report.run.offline:
        parts.append(note(OFFLINE_SCORES, kind="warning"))
    if report.scores:
        rows: list[tuple[object, ...]] = []
        for score in report.scores:
            summary = score.distribution
            rows.append(
                (
                    score.name,
                    summary.count if summary else 0,
                    score.missing,
                    *(
                        (number(summary.mean, 3), number(summary.minimum, 3), number(summary.median, 3), number(summary.maximum, 3))
                        if summary
                        else ("", "", "", "")
                    ),
                )
            )
        parts.append(paragraph("Scores of the kept samples; a sample without a score is counted as missing, never as 0."))
        parts.append(table(["score", "samples", "missing", "mean", "min", "median", "max"], rows))
    if report.checks:
        parts.append(paragraph("Checks the kept samples carry, and their verdicts where a check gives one."))
        check_rows = []
        for name, carried in report.checks.items():
            verdicts = report.verdicts.get(name)
            shown = ", ".join(f"{verdict}: {count:,}" for verdict, count in verdicts.items()) if verdicts else ""
            check_rows.append((name, carried, shown))
        parts.append(table(["check", "samples", "verdicts"], check_rows))
    return SectionContent("".join(parts))


def curation_content(report: BuildReport) -> SectionContent | None:
    curation = report.curation
    if curation is None:
        return None
    if curation_is_stale(report.path):
        # Left from an earlier build of the folder (see curated_is_current): its counts would be
        # read as this dataset's, so none is shown.
        return SectionContent(note(
            "curated/ was made by evol curate from an earlier build of this folder (or its origin is "
            "unknown): its counts do not describe this dataset. Run evol curate again.", kind="warning"))
    parts = [note(problem, kind="warning") for problem in curation.problems]
    parts.append(
        paragraph(
            f"evol curate kept {number(curation.kept)} rows and removed {number(curation.removed)} "
            f"(curated/dataset.jsonl and curated/removed.jsonl)."
        )
    )
    charts = []
    per_rule = curation.per_rule
    if per_rule:
        rows = [
            (rule, count, (curation.declared_per_rule or {}).get(rule))
            for rule, count in per_rule.items()
        ]
        parts.append(table(["rule", "removed", "curation.json says"], rows))
        figure = stacked_bars(
            "Rows removed per curation rule", list(per_rule), {"removed": list(per_rule.values())}, value_title="rows", horizontal=True
        )
        charts.append(Chart.of("curation-per-rule", figure))
    if curation.settings:
        parts.append(f"<details><summary>curation.json</summary>{key_values(curation.settings)}</details>")
    return SectionContent("".join(parts), tuple(charts))


CORE_SECTIONS: tuple[ReportSection, ...] = (
    ReportSection("run", "The run", run_content, description="Command, model, settings, versions, requests, tokens and cost."),
    ReportSection("rounds", "Rounds", rounds_content, description="Kept, eliminated and failed per round."),
    ReportSection("eliminations", "Eliminations", eliminations_content, description="Per filter and per operation."),
    ReportSection("instructions", "Instructions", instructions_content, description="Length and difficulty per round."),
    ReportSection("scores", "Scores and checks", scores_content, description="Every score and check the samples carry."),
    ReportSection("quality", "Quality and complexity", quality_content,
                  description="Answer quality against instruction complexity per round (--quality, --difficulty)."),
    ReportSection("curation", "Curation", curation_content, description="What evol curate removed, per rule."),
)
