"""``evol method optimize``: the Auto Evol-Instruct loop, every request sent by a build.

Each step: evolve a mini-batch of seeds several rounds with the current method (stage
``evolve``), let the optimizer list the issues of those trajectories (``analyze``), sample
candidate methods (``optimize``), evolve the dev set with each valid candidate, and keep the
method with the lowest failure rate: the share of evolved candidates that the domain's
elimination rules (equality, refusal, copied template, the domain's own checks) eliminated.

Every request goes through ``evolinstruct.build`` into a folder under METHOD_DIR, so it is
cached and resumable as a build is: running the command again after a kill resends nothing that
was received, since each step's inputs are read back from the folders of the steps before it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import click

import evolinstruct
from evolinstruct import EvolError, ExitCode, UsageError

from .method import (
    FORMAT, INITIAL_METHOD, OPTIMIZER_DOMAIN, STAGE_FIELD, TEMPERATURE_FIELD, digest, method_from_reply,
    method_problem, write_json,
)

OPTIMIZER_STAGES = frozenset({"analyze", "optimize"})

ANALYZE_PROMPT = """\
Below are evolution trajectories: instructions rewritten several times, one after another, by an \
evolving method whose goal is to make each instruction more complex while it stays a clear, \
answerable instruction. A step marked ELIMINATED was rejected by the dataset's checks, with the reason.

{trajectories}

List the issues you find in these evolutions: instructions left unchanged, noise or irrelevant \
additions, requirements lost, rewrites that answer instead of asking, refusals, labels copied \
from the prompt, instructions that became unanswerable. One issue per line, starting with "- ".
"""

OPTIMIZE_PROMPT = """\
You improve an evolving method: a prompt that asks a model to rewrite an instruction into a more \
complex one. The instruction goes where the method writes {placeholder}.

The current method:
<method>
{method}
</method>

Issues observed when evolving instructions with it:
{issues}

Write an improved method that avoids these issues. Keep it a method: numbered steps the rewriter \
follows, ending with what to reply, and keep {placeholder} exactly once where the instruction \
goes. Reply with the new method alone.
"""


class BuildStopped(EvolError):
    """One of the optimization's builds did not complete: the command exits as that build did
    (3 when running it again resumes it)."""

    def __init__(self, message: str, exit_code: ExitCode) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Settings:
    domain: str
    evolve_rounds: int
    dev_rounds: int
    seed: int
    build: dict[str, Any]
    """Options every build of the optimization shares (model, endpoints, roles)."""


def check_seeds(path: Path, domain: str) -> None:
    """The seeds as the domain reads them (GSM8K's ``question``, MBPP's ``text``...), checked the way
    ``evol build`` checks them, before anything is written or sent: a bad record is named by the
    file, line and field the user wrote, not by the subsets the optimization's builds are given."""
    with evolinstruct.Build(evolinstruct.BuildConfig(seeds=path, out=path.with_name(path.name + ".check"),
                                                     domain=domain, rounds=0)) as build:
        build.check()


def read_seeds(path: Path) -> list[dict[str, Any]]:
    """The seed records (JSON objects, in the domain's own form), each with an ``id``."""
    records = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise UsageError(f"{path}: cannot read the seeds ({error.strerror})") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise UsageError(f"{path}: line {number}: not JSON ({error.msg})") from None
        if not isinstance(record, dict):
            raise UsageError(f"{path}: line {number}: a seed is a JSON object")
        records.append({**record, "id": str(record.get("id", f"s{number}"))})
    return records


def write_seeds(path: Path, records: Sequence[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n" for record in records)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def rows(folder: Path, name: str) -> list[dict[str, Any]]:
    path = folder / name
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def run_build(settings: Settings, folder: Path, seeds: Sequence[dict[str, Any]], *, domain: str, rounds: int,
              method_file: Path | None = None) -> Path:
    """One build over ``seeds`` into ``folder`` (resumed when it was started before)."""
    seeds_file = folder.with_name(folder.name + ".seeds.jsonl")
    write_seeds(seeds_file, seeds)
    options: dict[str, Any] = dict(settings.build)
    # A build refuses a role for a stage it does not send: the optimizer's roles go to its own
    # builds, the others to the builds that evolve.
    optimizer = domain == OPTIMIZER_DOMAIN
    roles = [role for role in options.pop("role", ()) if (role.split("=", 1)[0] in OPTIMIZER_STAGES) == optimizer]
    if roles:
        options["role"] = roles
    if rounds:
        options |= {"schedule": ["auto"] * rounds, "operation_weights": {"auto": 1.0}}
    if method_file is not None:
        options["method"] = str(method_file)
    summary = evolinstruct.build(seeds=str(seeds_file), out=str(folder), domain=domain, rounds=rounds,
                                 seed=settings.seed, **options)
    if summary.status != "complete":
        raise BuildStopped(f"{folder}: the build ended {summary.status}: {summary.reason}; run evol method optimize "
                           "again to resume it", summary.exit_code)
    return folder


def trajectories(folder: Path) -> list[dict[str, Any]]:
    """Each seed's evolution, round by round, with the eliminations' reasons."""
    by_seed: dict[str, list[dict[str, Any]]] = {}
    for kind in ("dataset.jsonl", "eliminated.jsonl"):
        for row in rows(folder, kind):
            elimination = row.get("elimination")
            by_seed.setdefault(row["seed_id"], []).append({
                "round": row["round"], "instruction": row["instruction"],
                "eliminated": f"{elimination['filter']}: {elimination['reason']}" if elimination else None,
            })
    return [{"seed_id": seed, "steps": sorted(steps, key=lambda step: step["round"])}
            for seed, steps in sorted(by_seed.items())]


def failure_rate(folder: Path) -> dict[str, Any]:
    """Evolved candidates, those the elimination rules removed, and their share. Failed samples
    (an endpoint or code error) are no verdict on the method and are counted apart."""
    kept = [row for row in rows(folder, "dataset.jsonl") if row["round"] > 0]
    eliminated = rows(folder, "eliminated.jsonl")
    evolved = len(kept) + len(eliminated)
    return {"evolved": evolved, "eliminated": len(eliminated), "failed": len(rows(folder, "failed.jsonl")),
            "failure_rate": round(len(eliminated) / evolved, 4) if evolved else None}


def show(trajectory: dict[str, Any]) -> str:
    lines = [f"Trajectory of {trajectory['seed_id']}:"]
    for step in trajectory["steps"]:
        mark = f" [ELIMINATED: {step['eliminated']}]" if step["eliminated"] else ""
        lines.append(f"  round {step['round']}{mark}: {step['instruction']}")
    return "\n".join(lines)


def optimizer_reply(settings: Settings, folder: Path, stage: str, prompts: Sequence[str], temperature: float) -> list[str]:
    seeds = [{"id": f"{stage}-{number}", "instruction": prompt, STAGE_FIELD: stage, TEMPERATURE_FIELD: temperature}
             for number, prompt in enumerate(prompts, 1)]
    run_build(settings, folder, seeds, domain=OPTIMIZER_DOMAIN, rounds=0)
    replies = {row["id"]: row.get("response") or "" for row in rows(folder, "dataset.jsonl")}
    return [replies.get(seed["id"], "") for seed in seeds]


def optimize(seeds: list[dict[str, Any]], out: Path, steps: int, batch: int, candidates: int, dev: int,
             settings: Settings) -> dict[str, Any]:
    if dev + batch > len(seeds):
        raise UsageError(f"--dev {dev} and --batch {batch} need {dev + batch} seeds; the seeds file has {len(seeds)}")
    dev_set, pool = seeds[:dev], seeds[dev:]
    out.mkdir(parents=True, exist_ok=True)
    current, current_name = INITIAL_METHOD, "initial"
    current_file = write_method_file(out / "methods" / "initial.json", current)
    current_rate = initial_rate = failure_rate(run_build(settings, out / "initial-dev", dev_set, domain=settings.domain,
                                                         rounds=settings.dev_rounds, method_file=current_file))
    history: list[dict[str, Any]] = []
    for step in range(1, steps + 1):
        folder = out / f"step-{step}"
        start = ((step - 1) * batch) % len(pool)
        mini_batch = [pool[(start + offset) % len(pool)] for offset in range(batch)]
        evolved = run_build(settings, folder / "evolve", mini_batch, domain=settings.domain,
                            rounds=settings.evolve_rounds, method_file=current_file)
        paths = trajectories(evolved)
        [issues] = optimizer_reply(settings, folder / "analyze", "analyze",
                                   [ANALYZE_PROMPT.format(trajectories="\n\n".join(map(show, paths)))], 0.0)
        prompt = OPTIMIZE_PROMPT.format(placeholder="{instruction}", method=current.strip(), issues=issues.strip())
        # Each candidate is asked apart (its own request seed, and its number in the prompt, which
        # also lets a scripted model tell them apart).
        asks = [f"{prompt}\n(Candidate {number} of {candidates}: write a variant of your own.)\n"
                for number in range(1, candidates + 1)]
        replies = optimizer_reply(settings, folder / "optimize", "optimize", asks, 1.0)
        records = []
        best = (current_rate["failure_rate"], 0, current, current_name, current_file)
        for number, reply in enumerate(replies, 1):
            text = method_from_reply(reply)
            problem = method_problem(text) if reply.strip() else "the optimizer gave no reply"
            record: dict[str, Any] = {"candidate": number, "reply": reply, "valid": problem is None, "reason": problem}
            if problem is None:
                file = write_method_file(out / "methods" / f"step-{step}-candidate-{number}.json", text)
                rate = failure_rate(run_build(settings, folder / f"candidate-{number}", dev_set, domain=settings.domain,
                                              rounds=settings.dev_rounds, method_file=file))
                record |= {"method": text, "digest": digest(text), "dev": rate}
                if rate["failure_rate"] is not None and (best[0] is None or rate["failure_rate"] < best[0]):
                    best = (rate["failure_rate"], number, text, f"step {step} candidate {number}", file)
            records.append(record)
        chosen = best[1]
        if chosen:
            current, current_name, current_file = best[2], best[3], best[4]
            current_rate = next(record["dev"] for record in records if record["candidate"] == chosen)
        history.append({
            "step": step, "batch": [seed["id"] for seed in mini_batch], "trajectories": paths, "issues": issues,
            "candidates": records, "chosen": chosen or None,
            "method": current_name, "dev_failure_rate": current_rate["failure_rate"],
        })
    document = {
        "format": FORMAT, "method": current, "chosen": current_name, "digest": digest(current),
        "placeholder": "{instruction}",
        "note": "edit 'method' freely (keep {instruction}); the digest in rows is computed from the text used",
        "dev": [seed["id"] for seed in dev_set], "domain": settings.domain,
        "initial": {"method": INITIAL_METHOD, "digest": digest(INITIAL_METHOD), "dev": initial_rate},
        "history": history,
    }
    write_json(out / "method.json", document)
    return document


def write_method_file(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, {"format": FORMAT, "method": text, "digest": digest(text)})
    return path


@click.group("method")
def method() -> None:
    """Auto Evol-Instruct: let an optimizer model improve the evolving method (operation auto)."""


@method.command("optimize")
@click.option("--seeds", "seeds_path", required=True, type=click.Path(path_type=Path), help="Seed instructions (JSONL).")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="METHOD_DIR: history, cache, method.json.")
@click.option("--steps", default=2, show_default=True, type=click.IntRange(1, 50), help="Optimization steps.")
@click.option("--batch", default=4, show_default=True, type=click.IntRange(1), help="Seeds evolved per step for the analysis.")
@click.option("--candidates", default=2, show_default=True, type=click.IntRange(1, 20), help="Methods sampled per step.")
@click.option("--dev", default=4, show_default=True, type=click.IntRange(1), help="Seeds (the first ones) that rate each method.")
@click.option("--evolve-rounds", default=3, show_default=True, type=click.IntRange(1, 10), help="Rounds of each trajectory.")
@click.option("--dev-rounds", default=1, show_default=True, type=click.IntRange(1, 10), help="Rounds of each dev evolution.")
@click.option("--domain", default="general", show_default=True, help="The domain whose elimination rules judge evolutions.")
@click.option("--model", default=None, help="The model (default: as evol build).")
@click.option("--base-url", default=None, help="The endpoint (default: as evol build).")
@click.option("--role", multiple=True, metavar="STAGE=MODEL[@URL]", help="A model for a stage (analyze, optimize...).")
@click.option("--seed", default=0, show_default=True, type=int, help="The run seed of every build.")
def optimize_command(seeds_path: Path, out: Path, steps: int, batch: int, candidates: int, dev: int,
                     evolve_rounds: int, dev_rounds: int, domain: str, model: str | None, base_url: str | None,
                     role: tuple[str, ...], seed: int) -> None:
    """Optimize the evolving method; write METHOD_DIR/method.json (use it: evol build --method)."""
    shared = {key: value for key, value in {"model": model, "base_url": base_url, "role": list(role) or None}.items()
              if value is not None}
    settings = Settings(domain, evolve_rounds, dev_rounds, seed, shared)
    # A bad input is exit 2 with one line, as for evol build (the command line's handling of EvolError).
    check_seeds(seeds_path, domain)
    document = optimize(read_seeds(seeds_path), out, steps, batch, candidates, dev, settings)
    for entry in document["history"]:
        click.echo(f"step {entry['step']}: {entry['method']}, dev failure rate {entry['dev_failure_rate']}")
    click.echo(f"wrote {out / 'method.json'} (use it: evol build --method {out / 'method.json'} --schedule auto,...)")
