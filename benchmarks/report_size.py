"""Does `evol report` stay fast and small on a big build? A 10k-seed offline build, reported.

Builds (once; `--keep DIR` reuses it) a general-domain dataset of 10,000 seeds (GSM8K train
questions, Code Alpaca and MBPP instructions from ../shared/data) over 4 rounds with the real CLI
against the loopback server: the bundled offline model, plus a rule that makes the equality judge
find no gain in 20% of the rewrites, so the build has eliminated candidates as a real one does.
Then it measures, side by side in one run:

- `evol report DIR` as a user runs it (a subprocess: Python start-up, plugins, reading every row,
  drawing, writing the page and the card): wall time, peak memory, size of report.html;
- the same in this process, split into reading the folder and drawing the page;
- Chromium (Debian's, through playwright) opening the page: until every chart has drawn its SVG,
  and until a seed's tree is shown after a click.

The offline model's answers are short (60-120 words); real answers are longer and only the lineage
sample carries them, so a second, smaller build whose answers are about 1,500 words measures the
page's size with the default number of lineages (`--long-seeds`, default 300).

    python benchmarks/report_size.py
    python benchmarks/report_size.py --keep /tmp/report-bench   # build once, measure again later
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

from evolinstruct.app.publish.report.model import read_build
from evolinstruct.app.publish.report.page import render_report
from evolinstruct.testing import ANSWER_MARKER, LoopbackLLM, Rule, offline_reply

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
TARGET_SECONDS = 10.0
TARGET_MB = 20.0
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ELIMINATE_SOME = (Rule(contains="Not Equal", reply="Equal", probability=0.2),)


def seed_instructions(data: Path, count: int) -> list[str]:
    texts = [json.loads(line)["question"] for line in (data / "gsm8k_train.jsonl").open(encoding="utf-8")]
    for item in json.loads((data / "code_alpaca_2k.json").read_text(encoding="utf-8")):
        texts.append(item["instruction"] + (f"\n{item['input']}" if item.get("input") else ""))
    texts += [json.loads(line)["text"] for line in (data / "mbpp.jsonl").open(encoding="utf-8")]
    if len(texts) < count:
        raise SystemExit(f"{data}: only {len(texts)} seed texts, {count} asked for")
    return texts[:count]


def build(out: Path, seeds: list[str], *, long_answers: bool) -> float:
    """The real `evol build` against a loopback server in this process; returns its wall time."""
    if (out / "manifest.json").is_file() and json.loads((out / "manifest.json").read_text())["status"] == "complete":
        return 0.0
    out.mkdir(parents=True, exist_ok=True)
    seeds_file = out.parent / f"{out.name}-seeds.jsonl"
    seeds_file.write_text("".join(json.dumps({"id": f"s{i}", "instruction": text}) + "\n" for i, text in enumerate(seeds)))

    def long_reply(request) -> str:
        reply = offline_reply(request)
        if not reply.startswith(ANSWER_MARKER):  # rewrites and verdicts stay as they are
            return reply
        return " ".join([reply] * 15)  # about 1,500 words: an answer of some 2,000 tokens

    with LoopbackLLM(rules=ELIMINATE_SOME, responder=long_reply if long_answers else None) as server:
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "evolinstruct", "build", "--seeds", str(seeds_file), "--out", str(out),
             "--concurrency", "64", "--no-progress"],
            env={**os.environ, "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-loopback"},
            capture_output=True, text=True,
        )
        elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"the build failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return elapsed


def report_subprocess(folder: Path, output: Path) -> tuple[float, float]:
    """`evol report` as a user runs it: (wall seconds, peak RSS in MB of that process)."""
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss across fork and exec, so it would report
    # this (larger) benchmark process's peak instead of the report's.
    wrapper = (
        "import re, sys\n"
        "from evolinstruct.app.cli import main\n"
        "try:\n    main()\n"
        "finally:\n"
        "    status = open('/proc/self/status').read()\n"
        "    print('PEAK_KB', re.search(r'VmHWM:\\s+(\\d+)', status).group(1), file=sys.stderr)\n"
    )
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", wrapper, "report", str(folder), "--output", str(output), "--no-card"],
        capture_output=True, text=True,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"evol report failed:\n{result.stderr[-2000:]}")
    peak_kb = int(result.stderr.rsplit("PEAK_KB", 1)[1].split()[0])
    return elapsed, peak_kb / 1024


def in_process(folder: Path) -> tuple[float, float, int, int]:
    """(seconds reading the folder, seconds drawing the page, rows, lineages held)."""
    started = time.perf_counter()
    report = read_build(folder)
    read = time.perf_counter() - started
    started = time.perf_counter()
    render_report(report)
    drawn = time.perf_counter() - started
    return read, drawn, report.kept + report.eliminated + report.failed, len(report.lineages)


def in_chromium(page_path: Path) -> tuple[float, float] | None:
    """(seconds until every chart drew its SVG, seconds until a clicked seed's tree shows)."""
    if not Path("/usr/bin/chromium").exists():
        return None
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_context(offline=True).new_page()
        started = time.perf_counter()
        page.goto(page_path.resolve().as_uri())
        page.wait_for_function(
            "[...document.querySelectorAll('.chart')].every(chart => chart.querySelector('svg.main-svg'))",
            timeout=120_000,
        )
        charts = time.perf_counter() - started
        started = time.perf_counter()
        page.locator("#seed-list button").first.click()
        page.wait_for_selector("#lineage-tree .node")
        tree = time.perf_counter() - started
        browser.close()
    return charts, tree


def measure(label: str, folder: Path, seeds: int) -> list[str]:
    output = folder / "report.html"
    wall, peak = report_subprocess(folder, output)
    size_mb = output.stat().st_size / 1e6
    read, drawn, rows, lineages = in_process(folder)
    browser = in_chromium(output)
    charts, tree = browser if browser else (float("nan"), float("nan"))
    return [label, f"{seeds:,}", f"{rows:,}", f"{lineages:,}", f"{wall:.2f}", f"{read:.2f}", f"{drawn:.2f}",
            f"{peak:.0f}", f"{size_mb:.1f}", f"{charts:.2f}", f"{tree:.2f}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=10_000)
    parser.add_argument("--long-seeds", type=int, default=300)
    parser.add_argument("--data", type=Path, default=SHARED)
    parser.add_argument("--keep", type=Path, default=None, help="Build here and keep the builds for the next run.")
    args = parser.parse_args()

    root = args.keep or Path(tempfile.mkdtemp(prefix="report-bench-"))
    texts = seed_instructions(args.data, max(args.seeds, args.long_seeds))
    big, long = root / f"offline-{args.seeds}", root / f"long-answers-{args.long_seeds}"
    built = build(big, texts[: args.seeds], long_answers=False)
    built_long = build(long, texts[: args.long_seeds], long_answers=True)
    print(f"builds: {built:.0f} s and {built_long:.0f} s (0: reused from --keep)", file=sys.stderr)

    header = ["build", "seeds", "rows", "lineages held", "evol report s", "read s", "draw s", "peak MB",
              "report.html MB", "Chromium: charts drawn s", "Chromium: tree shown s"]
    rows = [measure("offline model", big, args.seeds), measure("answers of ~1,500 words", long, args.long_seeds)]
    print(f"Machine: {os.cpu_count()} cores, {platform.system()} {platform.release()}, Python {platform.python_version()}")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    worst_time = max(float(row[4]) for row in rows)
    worst_size = max(float(row[8]) for row in rows)
    print(f"targets: evol report under {TARGET_SECONDS:.0f} s: {'met' if worst_time < TARGET_SECONDS else 'NOT met'} "
          f"({worst_time:.2f} s); report.html under {TARGET_MB:.0f} MB: {'met' if worst_size < TARGET_MB else 'NOT met'} "
          f"({worst_size:.1f} MB)")


if __name__ == "__main__":
    main()
