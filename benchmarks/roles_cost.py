"""Requests and cost per role of a general build against the loopback server.

A real ``evol build`` (the CLI, in a subprocess) of N numbered seeds, with the build's model for
rewriting, ``--role respond=...`` and ``--role judge=...`` each on a loopback server of its own
and ``--difficulty`` so the judge role has two stages, priced with ``--price``. Prints, per role,
the model, its stages, the requests its server received, the tokens the manifest counts and what
they cost at the given prices, and the wall time.

    python benchmarks/roles_cost.py                   # 1,000 seeds, 1 round
    python benchmarks/roles_cost.py --seeds 200 --rounds 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from evolinstruct.testing import LoopbackLLM

MODELS = {"default": ("writer-mini", (0.15, 0.60)), "respond": ("answerer-large", (2.50, 10.00)),
          "judge": ("judge-small", (0.10, 0.40))}
"""Role: (model, dollars per million prompt/completion tokens), prices of the size of real ones."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder, LoopbackLLM() as base, LoopbackLLM() as answers, \
            LoopbackLLM() as judge:
        seeds = Path(folder) / "seeds.jsonl"
        seeds.write_text("".join(json.dumps({"instruction": f"Describe lighthouse number {i} for sailors."}) + "\n"
                                 for i in range(args.seeds)), encoding="utf-8")
        out = Path(folder) / "out"
        prices = [f"--price={model}={i:g}/{o:g}" for model, (i, o) in MODELS.values()]
        command = [
            sys.executable, "-m", "evolinstruct", "build", "--seeds", str(seeds), "--out", str(out),
            "--rounds", str(args.rounds), "--difficulty", "--concurrency", str(args.concurrency), "--no-progress",
            "--base-url", base.base_url, "--model", MODELS["default"][0],
            "--role", f"respond={MODELS['respond'][0]}@{answers.base_url}",
            "--role", f"judge={MODELS['judge'][0]}@{judge.base_url}", *prices,
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "EVOL_"))}
        env["OPENAI_API_KEY"] = "sk-bench"
        started = time.perf_counter()
        result = subprocess.run(command, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - started
        if result.returncode != 0:
            sys.exit(f"the build failed ({result.returncode}): {result.stderr[-2000:]}")
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        servers = {"default": base, "respond": answers, "judge": judge}

        print(f"general build: {args.seeds} seeds, {args.rounds} round(s), --difficulty; {wall:.1f} s wall; "
              f"{platform.node()} ({os.cpu_count()} cores)")
        header = f"{'role':<8} {'model':<15} {'stages':<22} {'server got':>10} {'sent':>7} {'prompt tok':>11} " \
                 f"{'compl. tok':>11} {'cost $':>9}"
        print(header)
        print("-" * len(header))
        for role, numbers in manifest["roles"].items():
            tokens = numbers["tokens"]
            print(f"{role:<8} {numbers['model']:<15} {','.join(numbers['stages']):<22} "
                  f"{servers[role].request_count:>10} {numbers['sent']:>7} {tokens['prompt_tokens']:>11,} "
                  f"{tokens['completion_tokens']:>11,} {numbers['cost_usd']:>9.4f}")
        cost = manifest["cost"]
        print(f"{'total':<8} {'':<15} {'':<22} {sum(s.request_count for s in servers.values()):>10} "
              f"{manifest['requests']['sent']:>7} {'':>11} {'':>11} {cost['usd_this_invocation']:>9.4f}")


if __name__ == "__main__":
    main()
