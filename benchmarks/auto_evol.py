"""Auto Evol-Instruct (plugins/autoevol): the failure rate of the initial evolving method against
the optimized one, on held-out seeds, measured with the project's elimination rules.

The model is the loopback server's scripted one: it refuses a rewrite (eliminated by the refusal
rule) with a probability the script gives each method, so this measures the machinery (the
optimization finds the method with fewer eliminations, and the held-out build confirms it on
seeds it never saw), not what a real model gains. Run:

    python benchmarks/auto_evol.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from evolinstruct.testing import LoopbackLLM, Rule

THINGS = [f"{adjective} {noun}" for adjective in ("a small", "a large", "a distributed", "an old", "a new",
                                                  "a simple", "a fast")
          for noun in ("cache", "compiler", "bridge", "garden", "market", "engine", "library", "orchestra", "river", "clock")]
TRAIN, HELD_OUT = 30, 40
REFUSAL = "Sorry, I can't."

CANDIDATE = """\
Step 1: Read the instruction and name one requirement that would make it harder. {mark}
Step 2: Add that requirement in one sentence, keeping every requirement the instruction had.
Step 3: Check that the result is still a question a person would ask, then reply with it alone.

Instruction:
{{instruction}}
"""
# The script's world: how often the evol model refuses with each method.
REFUSES = {"four steps in your head": 0.4, "MARK-A": 0.1, "MARK-B": 0.3, "MARK-C": 0.05, "MARK-D": 0.2}


def rules() -> list[Rule]:
    return [
        Rule(contains="Not Equal", reply="Not Equal"),
        Rule(contains="evolution trajectories", reply="- some rewrites were refusals\n- some added noise"),
        Rule(pattern=r"(?s)MARK-A.*Candidate 1 of", reply=CANDIDATE.format(mark="MARK-C")),
        Rule(pattern=r"(?s)MARK-A.*Candidate 2 of", reply=CANDIDATE.format(mark="MARK-D")),
        Rule(contains="Candidate 1 of", reply=CANDIDATE.format(mark="MARK-A")),
        Rule(contains="Candidate 2 of", reply=CANDIDATE.format(mark="MARK-B")),
        *(Rule(contains=marker, probability=chance, reply=REFUSAL) for marker, chance in REFUSES.items()),
    ]


def evol(*args: str, env: dict[str, str]) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "EVOL_"))} | env
    done = subprocess.run([sys.executable, "-m", "evolinstruct", *args], env=environ, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"evol {' '.join(args)} failed:\n{done.stderr}")


def failure_rate(folder: Path) -> tuple[int, int]:
    kept = sum(1 for line in (folder / "dataset.jsonl").read_text().splitlines() if json.loads(line)["round"] > 0)
    eliminated = len((folder / "eliminated.jsonl").read_text().splitlines())
    return eliminated, kept + eliminated


def main() -> None:
    with tempfile.TemporaryDirectory() as temporary, LoopbackLLM(rules=rules()) as server:
        work = Path(temporary)
        env = {"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-loopback"}
        seeds = [{"id": f"s{n}", "instruction": f"Explain how {thing} works."} for n, thing in enumerate(THINGS)]
        (work / "train.jsonl").write_text("".join(json.dumps(s) + "\n" for s in seeds[:TRAIN]))
        (work / "held-out.jsonl").write_text("".join(json.dumps(s) + "\n" for s in seeds[TRAIN:TRAIN + HELD_OUT]))
        evol("method", "optimize", "--seeds", str(work / "train.jsonl"), "--out", str(work / "m"), "--steps", "2",
             "--batch", "4", "--candidates", "2", "--dev", "12", "--evolve-rounds", "2", env=env)
        document = json.loads((work / "m" / "method.json").read_text())
        initial = work / "initial.json"
        initial.write_text(json.dumps({"method": document["initial"]["method"]}))
        print(f"chosen: {document['chosen']}")
        print(f"initial method, dev failure rate: {document['initial']['dev']['failure_rate']}")
        print("| step | candidates' dev failure rates | method kept | its dev failure rate |")
        print("|---|---|---|---|")
        for entry in document["history"]:
            rates = ", ".join(str(c["dev"]["failure_rate"]) if c["valid"] else f"rejected ({c['reason']})"
                              for c in entry["candidates"])
            print(f"| {entry['step']} | {rates} | {entry['method']} | {entry['dev_failure_rate']} |")
        print()
        print("| method | held-out seeds | evolved | eliminated | failure rate |")
        print("|---|---|---|---|---|")
        for name, method in (("initial", initial), ("optimized", work / "m" / "method.json")):
            out = work / f"held-out-{name}"
            evol("build", "--seeds", str(work / "held-out.jsonl"), "--out", str(out), "--schedule", "auto",
                 "--operation-weights", "auto=1", "--method", str(method), env=env)
            eliminated, evolved = failure_rate(out)
            print(f"| {name} | {HELD_OUT} | {evolved} | {eliminated} | {eliminated / evolved:.1%} |")


if __name__ == "__main__":
    main()
