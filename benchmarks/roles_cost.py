"""Requests and cost per role of a general build against the loopback server, direct and batched.

A real ``evol build`` (the CLI, in a subprocess) of N numbered seeds, with the build's model for
rewriting, ``--role respond=...`` and ``--role judge=...`` each on a loopback server of its own
and ``--difficulty`` so the judge role has two stages, priced with ``--price``. Prints, per role,
the model, its stages, the requests its server received, the tokens the manifest counts and what
they cost at the given prices, and the wall time.

Then the same build again with ``--batch`` (every role through the loopback servers' Batch API,
short windows: ``--batch-window`` seconds, batches held ``--batch-hold`` seconds), into another
folder on the same servers: the batch discount per role from the two manifests, and whether the
two datasets are the same bytes.

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


def build(command: list[str], out: Path) -> tuple[dict, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "EVOL_"))}
    env["OPENAI_API_KEY"] = "sk-bench"
    started = time.perf_counter()
    result = subprocess.run([*command, "--out", str(out)], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"the build failed ({result.returncode}): {result.stderr[-2000:]}")
    return json.loads((out / "manifest.json").read_text(encoding="utf-8")), wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--batch-window", type=float, default=2.0)
    parser.add_argument("--batch-hold", type=float, default=0.5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder, LoopbackLLM(batch_hold=args.batch_hold) as base, \
            LoopbackLLM(batch_hold=args.batch_hold) as answers, LoopbackLLM(batch_hold=args.batch_hold) as judge:
        seeds = Path(folder) / "seeds.jsonl"
        seeds.write_text("".join(json.dumps({"instruction": f"Describe lighthouse number {i} for sailors."}) + "\n"
                                 for i in range(args.seeds)), encoding="utf-8")
        prices = [f"--price={model}={i:g}/{o:g}" for model, (i, o) in MODELS.values()]
        command = [
            sys.executable, "-m", "evolinstruct", "build", "--seeds", str(seeds),
            "--rounds", str(args.rounds), "--difficulty", "--concurrency", str(args.concurrency), "--no-progress",
            "--base-url", base.base_url, "--model", MODELS["default"][0],
            "--role", f"respond={MODELS['respond'][0]}@{answers.base_url}",
            "--role", f"judge={MODELS['judge'][0]}@{judge.base_url}", *prices,
        ]
        servers = {"default": base, "respond": answers, "judge": judge}
        manifest, wall = build(command, Path(folder) / "direct")

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

        # The same build through the Batch API, on the same servers (rows name the endpoint).
        before = {role: server.batches.created for role, server in servers.items()}
        batched, batched_wall = build([*command, "--batch", "--batch-window", f"{args.batch_window:g}"],
                                      Path(folder) / "batched")
        same = (Path(folder) / "direct" / "dataset.jsonl").read_bytes() == \
            (Path(folder) / "batched" / "dataset.jsonl").read_bytes()
        print()
        print(f"the same build with --batch (--batch-window {args.batch_window:g} s, batches held "
              f"{args.batch_hold:g} s): {batched_wall:.1f} s wall; dataset bytes identical to the direct build's: {same}")
        header = f"{'role':<8} {'batches':>8} {'requests':>9} {'direct $':>9} {'batched $':>10} {'discount $':>11} " \
                 f"{'share':>6}"
        print(header)
        print("-" * len(header))
        for role, numbers in batched["roles"].items():
            direct_cost = manifest["roles"][role]["cost_usd"]
            print(f"{role:<8} {servers[role].batches.created - before[role]:>8} {numbers['batch']['requests']:>9} "
                  f"{direct_cost:>9.4f} {numbers['cost_usd']:>10.4f} {numbers['batch']['discount_usd']:>11.4f} "
                  f"{numbers['cost_usd'] / direct_cost:>6.2f}")
        total = batched["cost"]
        print(f"{'total':<8} {batched['batches']['batches']:>8} {batched['batches']['requests']:>9} "
              f"{cost['usd_this_invocation']:>9.4f} {total['usd_this_invocation']:>10.4f} "
              f"{total['batch_discount_usd']:>11.4f} {total['usd_this_invocation'] / cost['usd_this_invocation']:>6.2f}")


if __name__ == "__main__":
    main()
