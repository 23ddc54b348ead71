"""The dataset card: ``DIR/README.md`` in the layout the Hugging Face Hub reads.

YAML front matter (a license the user must fill in, task categories, size category, and one
config per data file in the folder made from its current dataset; a file left from an earlier
build is named as stale instead, see ``data_files``), then what a reader of the dataset needs: the method
with its papers, the rounds, operations and filters with their counts, the model and decoding,
the checks that ran, the curation summary and how to reproduce the run. Every number is computed
from the folder's files (through the same ``BuildReport`` as the report page).

The card is written again whenever it is refreshed (``evol report``, at the end of a build, by
``evol export``). A README.md that evol did not write is left alone; in one it did write, a
license the user filled in is kept.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from ...runtime.output import CARD, CURATED, CURATED_DATASET, DATASET, ELIMINATED, FAILED, MANIFEST, write_text
from ...types.registrations import ReportSection
from .export import export_is_current, export_is_empty
from ..build.folder import file_digest
from .report.curation import curated_is_current
from .report.markup import number
from .report.model import BuildReport, RoleNumbers, read_build

log = logging.getLogger("evolinstruct.card")

MARKER = "<!-- evol-card: written by evolinstruct from this folder's files -->"
LICENSE_PLACEHOLDER = "unknown"

CORE_EXPORTS: Mapping[str, str] = {
    "parquet": "dataset.parquet",
    "chat": "chat.jsonl",
    "sharegpt": "sharegpt.jsonl",
    "alpaca": "alpaca.json",
}
"""Files the core's export formats write by default; plugins' formats are passed in."""

PAPERS = (
    ("WizardLM: Empowering Large Language Models to Follow Complex Instructions", "2304.12244"),
    ("WizardCoder: Empowering Code Large Language Models with Evol-Instruct", "2306.08568"),
    (
        "WizardMath: Empowering Mathematical Reasoning for Large Language Models via Reinforced "
        "Evol-Instruct",
        "2308.09583",
    ),
)

EVOL_INSTRUCT = (
    "Seed instructions were rewritten by a language model with Evol-Instruct (WizardLM, "
    "arXiv:2304.12244): each round, every instruction in the pool is evolved with an operation "
    "drawn at random, by the operations' weights or among those the round's schedule names (see "
    "the configuration below); in-depth operations make it harder (more constraints, deeper, "
    "more concrete, more reasoning steps, a complicated input), in-breadth creates a rarer one. "
    "A domain may evolve several candidates of an instruction in a round and continue with the "
    "best of them (the math domain's --irm-candidates). "
    "A rewrite is eliminated when it copies the evolving prompt, brings no information gain "
    "over its parent (an LLM equality judge), or draws an answer that apologises in under 80 "
    "words or holds only punctuation and stop words; its parent is then evolved again in the "
    "next round. Every survivor is answered by the same model and becomes the next round's "
    "instruction."
)

DOMAIN_METHOD = {
    "code": (
        "For code, the five operations of WizardCoder (arXiv:2306.08568) replace those of "
        "WizardLM: new constraints, a rarer requirement, more reasoning steps, erroneous code as "
        "misdirection, and higher time or space complexity. Unlike the paper, every answer's code "
        "was run in an isolated Docker sandbox, against its tests where verified tests exist, and "
        "the verdict is kept with the sample (`checks.execution`)."
    ),
    "math": (
        "For math, evolution runs upward (harder: constraints, concretizing, more reasoning) and "
        "downward (easier) as in WizardMath (arXiv:2308.09583). Final answers and the equations "
        "of each step were checked with sympy, and each sample carries the instruction, answer "
        "and process rewards, with reward = instruction reward x answer reward."
    ),
}

TASK_CATEGORIES = {"math": ("text-generation", "question-answering")}
DOMAIN_TAGS = {"general": ("wizardlm",), "code": ("code", "wizardcoder"), "math": ("math", "wizardmath")}


def size_category(rows: int) -> str:
    """The Hub's size bucket for a number of rows."""
    bounds = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
              (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B"))
    for bound, name in bounds:
        if rows < bound:
            return name
    return "n>1B"


@dataclass(frozen=True)
class DataFiles:
    """The folder's data files: those the card offers as configs, and those made from an earlier
    dataset (or of unknown origin) that it names as stale instead."""

    configs: tuple[tuple[str, str], ...]
    """(config name, file), the dataset first as the default config."""
    stale: tuple[tuple[str, str], ...]
    """(config name, file) present in the folder but not made from the current dataset."""


def data_files(folder: Path, exports: Mapping[str, str] | None = None) -> DataFiles:
    """Which data files present in ``folder`` describe its current dataset.

    A rebuild (``--restart`` with other settings) leaves files derived from the previous dataset
    in the folder; a card that listed them would describe rows that are not this dataset's. An
    export counts as current only if ``exports.json`` records that it was made, unchanged since,
    from a dataset with the current one's digest (``export.export_is_current``); a file without
    such a record is of unknown origin and is named as stale, never vouched for. ``curated/``:
    see ``curated_is_current``.
    """
    configs = [("default", DATASET)]
    stale = []
    if _has_rows(folder / ELIMINATED):
        configs.append(("eliminated", ELIMINATED))
    digest = file_digest(folder / DATASET) if (folder / DATASET).is_file() else None
    formats = {**CORE_EXPORTS, **(exports or {})}
    for name, filename in sorted(formats.items()):
        if (folder / filename).is_file() and name != "default" and not export_is_empty(folder, filename):
            fresh = digest is not None and export_is_current(folder, filename, digest)
            (configs if fresh else stale).append((name, filename))
    if (folder / CURATED / CURATED_DATASET).is_file():
        fresh = digest is not None and curated_is_current(folder, digest)
        (configs if fresh else stale).append((CURATED, f"{CURATED}/{CURATED_DATASET}"))
    return DataFiles(tuple(configs), tuple(stale))


def _has_rows(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 0


def existing_license(card: Path) -> str | None:
    """The license a user wrote into an evol-written card, or None (absent, or the placeholder)."""
    text = card.read_text(encoding="utf-8", errors="replace")
    front = re.match(r"---\n(.*?)\n---\n", text, re.S)
    if not front:
        return None
    found = re.search(r"^license:\s*([^#\s]+)", front.group(1), re.M)
    if not found or found.group(1).strip("'\"") == LICENSE_PLACEHOLDER:
        return None
    return found.group(1).strip("'\"")


def render_card(report: BuildReport, exports: Mapping[str, str] | None = None, license_id: str | None = None,
                sections: Iterable[ReportSection] = ()) -> str:
    domain = report.domain
    files = data_files(report.path, exports)
    return "\n".join(
        [
            *_front_matter(report, files, license_id),
            MARKER,
            "",
            f"# {report.path.name}",
            "",
            *_summary(report),
            "## Method",
            "",
            EVOL_INSTRUCT,
            *(["", DOMAIN_METHOD[domain]] if domain in DOMAIN_METHOD else []),
            "",
            "References: " + "; ".join(f"{title}, [arXiv:{number_}](https://arxiv.org/abs/{number_})" for title, number_ in PAPERS) + ".",
            "",
            *_rounds(report),
            *_operations(report),
            *_filters(report),
            *_model(report),
            *_checks(report),
            *_curation(report, files),
            *_plugin_parts(report, sections),
            *_reproduce(report),
            *_files(report, files),
            "## License",
            "",
            "Fill in the `license` field above: the license your seeds allow, within the terms of use "
            "of the model that wrote the instructions and answers.",
            "",
        ]
    )


def _plugin_parts(report: BuildReport, sections: Iterable[ReportSection]) -> list[str]:
    """The parts of the card the plugins' report sections write (``ReportSection.card``). One that
    raises is named in the card and in a warning; the rest of the card stands."""
    lines: list[str] = []
    for section in sections:
        if section.card is None or not section.applies_to(report.domain):
            continue
        try:
            text = section.card(report)
        except Exception as error:  # noqa: BLE001 - a plugin's bug must not cost the card
            log.warning("the card part of report section %r failed: %s: %s", section.name, type(error).__name__, error)
            text = f"This part could not be written: its code raised {type(error).__name__}: {error}"
        if text and text.strip():
            lines += [f"## {section.title}", "", text.strip(), ""]
    return lines


def _yaml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid YAML scalar


def _front_matter(report: BuildReport, files: DataFiles, license_id: str | None) -> list[str]:
    domain = report.domain
    lines = ["---"]
    if license_id:
        lines.append(f"license: {_yaml_string(license_id)}")
    else:
        lines.append(
            f"license: {LICENSE_PLACEHOLDER}  # FILL IN: an id from the Hub's license list "
            "(apache-2.0, cc-by-4.0, mit, ...)"
        )
    lines.append("task_categories:")
    lines += [f"- {category}" for category in TASK_CATEGORIES.get(domain or "", ("text-generation",))]
    lines.append("tags:")
    lines += [f"- {tag}" for tag in ("evol-instruct", "synthetic", *DOMAIN_TAGS.get(domain or "", ()))]
    lines += ["size_categories:", f"- {size_category(report.kept)}", "configs:"]
    for name, filename in files.configs:
        lines += [
            f"- config_name: {_yaml_string(name)}",
            "  data_files:",
            "  - split: train",
            f"    path: {_yaml_string(filename)}",
        ]
    lines.append("---")
    return lines


def _table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    def cell(value: object) -> str:
        if isinstance(value, int) and not isinstance(value, bool):
            text = number(value)
        elif isinstance(value, float):
            text = f"{value:g}"
        else:
            text = str(value)
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(headers) + " |", "|" + " --- |" * len(headers)]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return lines + [""]


def _summary(report: BuildReport) -> list[str]:
    run = report.run
    evolved = report.kept - next((counts.kept for counts in report.rounds if counts.round == 0), 0)
    lines = []
    if run.offline:
        lines += [
            "> **Not for training.** This dataset was built with evolinstruct's bundled offline "
            "model, which writes placeholder text to exercise the pipeline; it is not a model's output.",
            "",
        ]
    # The seeds are the kept rows of round 0, so the two parts add up to the pairs.
    seeds = report.kept - evolved
    method = (f"{run.rounds if run.rounds is not None else 'an unknown number of'} rounds of Evol-Instruct "
              f"by {_code(run.model)} (domain {_code(domain_or_unknown(report))})")
    if run.status in (None, "complete", "partial"):  # the run went through its seeds (failures are counted below)
        held = (f"{report.kept:,} instruction-response pairs in `dataset.jsonl`: {seeds:,} seeds "
                f"(round 0) and {evolved:,} instructions evolved from them over {method}.")
    else:
        # A build stopped before its end (killed, Ctrl-C, an error) holds part of its seeds: say
        # how many, round by round, and of how many, rather than describe them as the dataset it
        # was asked for.
        selected = run.seeds.get("selected")
        of = (f"{selected:,} seeds it selected" if isinstance(selected, int) and not isinstance(selected, bool)
              else "an unknown number of seeds it selected")
        per_round = ", ".join(f"{each.kept:,} in round {each.round}" for each in report.rounds)
        held = (f"The build is `{run.status}`: `dataset.jsonl` holds the {report.kept:,} instruction-response "
                f"pairs written so far ({per_round}): {seeds:,} of the {of} (round 0) and {evolved:,} "
                f"instructions evolved from them over {method}.")
    lines += [
        f"{held} "
        f"{report.eliminated:,} evolved candidates were eliminated (`eliminated.jsonl`, each with "
        f"the filter and its reason) and {report.failed:,} could not be finished (`failed.jsonl`). "
        "Each row names its seed, its parent and its round, so every seed's evolution tree can be "
        "rebuilt from the files.",
        "",
    ]
    if run.status not in (None, "complete"):
        why = f": {run.reason}" if run.reason else ""
        lines += [f"> The build's status is `{run.status}`{why}.", ""]
    return lines


def domain_or_unknown(report: BuildReport) -> str:
    return report.domain or "unknown"


def _code(value: object) -> str:
    return f"`{value}`" if value is not None else "an unknown model"


def _rounds(report: BuildReport) -> list[str]:
    rows = [(counts.round, counts.kept, counts.eliminated, counts.failed) for counts in report.rounds]
    return ["## Rounds", "", *_table(["round", "kept", "eliminated", "failed"], rows)]


def _operations(report: BuildReport) -> list[str]:
    if not report.operations:
        return []
    rows = [
        (counts.operation, counts.kept + counts.eliminated + counts.failed, counts.kept, counts.eliminated, counts.failed)
        for counts in report.operations
    ]
    return [
        "## Operations",
        "",
        "Evolution attempts per operation (rounds 1 and later):",
        "",
        *_table(["operation", "attempts", "kept", "eliminated", "failed"], rows),
    ]


def _filters(report: BuildReport) -> list[str]:
    if not report.filters:
        return ["## Elimination", "", "No candidate was eliminated.", ""]
    return [
        "## Elimination",
        "",
        *_table(["filter", "eliminated"], report.filters.items()),
    ]


def _model(report: BuildReport) -> list[str]:
    run = report.run
    decoding = run.decoding or {}
    config = run.config
    rows = [
        ("model", run.model if run.model is not None else "unknown"),
        ("endpoint", "the bundled offline model" if run.offline else ("an OpenAI-compatible endpoint" if run.offline is False else "unknown")),
        ("temperature", decoding.get("temperature", "unknown")),
        ("top_p", decoding.get("top_p", "unknown")),
        ("max_tokens", decoding.get("max_tokens", "unknown")),
        ("run seed", config.get("seed", "unknown")),
        ("schedule", ",".join(config["schedule"]) if config.get("schedule") else "uniform draw" if config else "unknown"),
    ]
    total = report.total_usage
    return [
        "## Model and decoding",
        "",
        *_table(["", ""], rows),
        f"The rows record {total.requests:,} requests, {total.prompt_tokens:,} prompt tokens and "
        f"{total.completion_tokens:,} completion tokens:",
        "",
        *_table(
            ["stage", "requests", "prompt tokens", "completion tokens"],
            [(used.stage, used.requests, used.prompt_tokens, used.completion_tokens) for used in report.usage],
        ),
        *_roles(report),
    ]


def _roles(report: BuildReport) -> list[str]:
    """The manifest's numbers per role, for a build with roles (``--role``)."""
    if not report.run.roles:
        return []
    return [
        f"Per role, in the build's last invocation ({_code('manifest.json')}: an earlier invocation's requests are not "
        "counted here, and an answer read from the cache costs nothing; cost unknown: the model has no price):",
        "",
        *_table(RoleNumbers.HEADERS, [role.cells() for role in report.run.roles]),
    ]


def _checks(report: BuildReport) -> list[str]:
    lines = ["## Checks", ""]
    if not report.checks and not report.scores:
        return lines + ["No check or score ran on the samples beyond the elimination filters.", ""]
    if report.verdicts:
        lines += ["Verdicts of the kept samples (for code, `execution` is the sandbox's verdict):", ""]
        lines += _table(
            ["check", "verdict", "samples"],
            [(name, verdict, count) for name, verdicts in report.verdicts.items() for verdict, count in verdicts.items()],
        )
    if report.scores:
        if report.run.offline:
            lines += ["The bundled offline model wrote these rows: the numbers its judges gave are "
                      "placeholders, not judgements.", ""]
        lines += ["Scores of the kept samples (a sample without the score is counted as missing, not as 0):", ""]
        rows = []
        for score in report.scores:
            summary = score.distribution
            if summary is None:
                rows.append((score.name, 0, score.missing, "", "", ""))
            else:
                rows.append((score.name, summary.count, score.missing, f"{summary.mean:.3f}", f"{summary.minimum:.3f}", f"{summary.maximum:.3f}"))
        lines += _table(["score", "samples", "missing", "mean", "min", "max"], rows)
    others = [name for name in report.checks if name not in report.verdicts]
    if others:
        lines += ["Other checks recorded: " + ", ".join(f"`{name}` ({report.checks[name]:,} samples)" for name in others) + ".", ""]
    return lines


def _curation(report: BuildReport, files: DataFiles) -> list[str]:
    curation = report.curation
    if curation is None:
        return []
    if any(name == CURATED for name, _ in files.stale):
        return [
            "## Curation",
            "",
            f"`{CURATED}/` was made by `evol curate` from an earlier build of this folder (or its origin "
            "is unknown): its counts do not describe this dataset. Run `evol curate` again.",
            "",
        ]
    lines = [
        "## Curation",
        "",
        f"`evol curate` kept {number(curation.kept)} rows (`curated/dataset.jsonl`) and removed "
        f"{number(curation.removed)} (`curated/removed.jsonl`).",
        "",
    ]
    if curation.per_rule:
        lines += _table(["rule", "removed"], curation.per_rule.items())
    lines += _selection(curation.settings, curation.kept)
    lines += [f"> {problem}" for problem in curation.problems]
    return lines + ([""] if curation.problems else [])


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _threshold(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _selection(recorded: Mapping[str, Any], kept: int | None) -> list[str]:
    """How ``--budget`` chose the curated rows, as ``curation.json`` records it: the budget, the
    ``--by`` expression, what kept chosen rows apart (``--diversity`` and its embedding model, or
    word shingles) and how many rows the selection considered and kept. A value the file does not
    state is unknown, never a default."""
    settings = recorded.get("settings")
    settings = settings if isinstance(settings, Mapping) else {}
    budget = _count(settings.get("budget"))
    if budget is None:
        return []
    by = settings.get("by")
    by = by if isinstance(by, str) and by else None
    diversity = _threshold(settings.get("diversity"))
    if by is None:
        ranked = "an unknown score"
    else:
        names = [f"`scores.{name.strip()}`" for name in by.split("*")]
        ranked = (names[0] if len(names) == 1 else "the product of " + ", ".join(names[:-1]) + " and " + names[-1])
        ranked += f" (`--by {by}`; rows without it last)"
    lines = [
        "### Selection",
        "",
        f"The curated rows were chosen under a budget of {number(budget)} rows (`--budget {budget}`), best first by "
        f"{ranked}, skipping a row too close to one chosen before it (Deita's score-first, diversity-aware "
        "selection): ",
    ]
    if diversity is not None:
        model = settings.get("embedding_model")
        model = f"`{model}`" if isinstance(model, str) and model else "an unknown model"
        lines[-1] += (f"a cosine similarity of instruction embeddings above {diversity:g} (`--diversity {diversity:g}`), "
                      f"the embeddings from {model} through the endpoint's `/v1/embeddings`.")
    else:
        similarity = _threshold(settings.get("budget_similarity"))
        lines[-1] += ("a Jaccard similarity of task-word shingles of at least "
                      + (f"{similarity:g} (`--budget-similarity {similarity:g}`)." if similarity is not None
                         else "an unknown threshold."))
    tally = recorded.get("budget")
    tally = tally if isinstance(tally, Mapping) else {}
    chosen, too_similar, over = (_count(tally.get(key)) for key in ("chosen", "too_similar", "over_budget"))
    considered = None if None in (chosen, too_similar, over) else chosen + too_similar + over  # type: ignore[operator]
    unscored = _count(tally.get("chosen_without_score"))
    lines += ["", *_table(["rows", "count"], [
        ("in the dataset", number(_count(recorded.get("rows")))),
        ("considered by the selection (left by the rules before it)", number(considered)),
        ("chosen", number(chosen) + (f" ({number(unscored)} without a score)" if unscored else "")),
        ("skipped as too close to a chosen row", number(too_similar)),
        ("beyond the budget", number(over)),
        ("kept in `curated/dataset.jsonl`", number(kept)),
    ])]
    return lines


def _reproduce(report: BuildReport) -> list[str]:
    run = report.run
    lines = ["## Reproduce", ""]
    versions = run.versions
    if versions:
        found = versions.get("plugins")
        plugins: Mapping[str, object] = found if isinstance(found, Mapping) else {}
        described = ", ".join(f"{name} {version}" for name, version in plugins.items())
        lines += [
            f"Built with evolinstruct {versions.get('evolinstruct', 'unknown')} on Python "
            f"{versions.get('python', 'unknown')}" + (f" (plugins: {described})" if described else "") + ".",
            "",
        ]
    if run.command:
        lines += [
            "The command below, with the same seeds file, model and endpoint (`OPENAI_BASE_URL`, "
            "`OPENAI_API_KEY`), runs the same method with the same operation draws and request seeds "
            "(a model may still answer differently). Run again on this folder, it reads every "
            "response it already has from `cache.sqlite` and rebuilds these files exactly:",
            "",
            "```sh",
            " ".join(_shell_word(word) for word in run.command),
            "```",
            "",
        ]
    else:
        lines += ["The command is unknown (no manifest.json).", ""]
    lines += ["`evol report DIR` draws the run, its charts and every seed's evolution tree in `report.html`.", ""]
    return lines


def _shell_word(word: str) -> str:
    return word if re.fullmatch(r"[\w@%+=:,./-]+", word) else "'" + word.replace("'", "'\\''") + "'"


def _files(report: BuildReport, files: DataFiles) -> list[str]:
    rows = [
        (DATASET, f"{report.kept:,} kept samples of every round"),
        (ELIMINATED, f"{report.eliminated:,} eliminated candidates, with `elimination: {{filter, reason}}`"),
        (FAILED, f"{report.failed:,} samples whose work could not be finished, with the stage and the error"),
        (MANIFEST, "the command, configuration, versions, counts and requests of the run"),
    ]
    for name, filename in files.configs:
        if filename not in {row[0] for row in rows}:
            rows.append((filename, f"`{name}` export" if name != CURATED else "the curated dataset"))
    for name, filename in files.stale:
        again = "run `evol curate` again" if name == CURATED else f"run `evol export DIR --format {name}` again"
        rows.append((filename, f"stale: made from an earlier build (or of unknown origin), not from this dataset; {again}"))
    return ["## Files", "", *_table(["file", "what"], rows)]


def write_card(folder: Path, *, exports: Mapping[str, str] | None = None, report: BuildReport | None = None,
               sections: Iterable[ReportSection] = ()) -> Path | None:
    """Write (or refresh) ``folder/README.md``; returns its path, or None when a README.md that
    evol did not write is there (it is left alone). ``exports`` maps the active export formats to
    their default file names, so the card's configs name the plugins' files too."""
    target = folder / CARD
    license_id = None
    if target.is_file():
        if MARKER not in target.read_text(encoding="utf-8", errors="replace"):
            return None
        license_id = existing_license(target)
    if report is None:
        report = read_build(folder, lineages=0)
    write_text(target, render_card(report, exports, license_id, sections))
    return target


def refresh_card(folder: Path, exporters: Mapping[str, Any], sections: Iterable[ReportSection] = ()) -> None:
    """Write the folder's dataset card (README.md) from its files. The data is written already:
    a card that cannot be made is reported, never a reason to lose the build's outcome."""
    try:
        write_card(folder, exports={name: exporter.default_filename for name, exporter in exporters.items()},
                   sections=sections)
    except Exception as error:  # noqa: BLE001 - reported, and the build's own result stands
        log.warning("the dataset card %s could not be written: %s: %s", folder / CARD, type(error).__name__, error)
