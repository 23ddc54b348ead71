"""How much room a response takes in a build's cache, and how fast a resumed run reads it back.

Writes N chat responses of a given length (questions and worked answers of GSM8K, joined and cut
to that many characters, so the text is real prose and arithmetic, not repeated filler) into a new cache exactly as the
LLM client stores them (the request's content key, ``{"text", "usage"}``), checkpoints it, and
measures the file's bytes per response; then reopens it and reads every entry back by key, as a
resumed build does, timing the best of three passes.

It measures the code of this checkout and, with ``--before CHECKOUT``, the code of another one
(``git worktree add /tmp/before HEAD~N``), each in its own process, in one run:

    python benchmarks/cache_size.py --before /tmp/before
    python benchmarks/cache_size.py --responses 20000 --chars 900 1024
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
READ_PASSES = 3
GSM8K = HERE.parents[2] / "shared" / "data" / "gsm8k_train.jsonl"


def texts(count: int, chars: int) -> list[str]:
    """``count`` texts of ``chars`` characters from GSM8K (cycled when it runs out)."""
    if not GSM8K.is_file():
        raise SystemExit(f"{GSM8K}: not found (the benchmark reads GSM8K's training set from ../shared/data)")
    opener = gzip.open if GSM8K.suffix == ".gz" else open
    with opener(GSM8K, "rt", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    out: list[str] = []
    current = ""
    index = 0
    while len(out) < count:
        row = rows[index % len(rows)]
        index += 1
        current += f"{row['question']}\n{row['answer']}\n"
        if len(current) >= chars:
            out.append(current[:chars])
            current = ""
    return out


def measure(folder: Path, texts_file: Path) -> dict[str, float]:
    """Run in the measured code's process: write, checkpoint, reopen, read back."""
    from evolinstruct.runtime.cache import Cache, content_key

    answers = json.loads(texts_file.read_text(encoding="utf-8"))
    path = folder / "cache.sqlite"
    cache = Cache(path)
    keys = []
    started = time.perf_counter()
    for number, text in enumerate(answers):
        request = {
            "endpoint": "https://api.example.com/v1", "model": "gpt-4o-mini",
            "messages": [{"role": "user", "content": f"Question {number}"}],
            "temperature": 1.0, "top_p": 0.9, "max_tokens": 2048, "seed": number,
        }
        key = content_key("chat", request)
        keys.append(key)
        cache.put(key, "chat", {"text": text, "usage": {"prompt_tokens": 120, "completion_tokens": 260, "requests": 1}})
    write_s = time.perf_counter() - started
    cache.checkpoint()
    cache.close()
    size = sum(p.stat().st_size for p in folder.glob("cache.sqlite*"))
    cache = Cache(path)
    passes = []
    for _ in range(READ_PASSES):  # the best of a few passes: the machine is shared
        started = time.perf_counter()
        for key, text in zip(keys, answers):
            if cache.get(key)["text"] != text:
                raise SystemExit(f"entry {key} reads back wrong")
        passes.append(time.perf_counter() - started)
    read_s = min(passes)
    cache.close()
    return {"responses": len(answers), "bytes": size, "write_s": write_s, "read_s": read_s}


def import_root(checkout: Path, scratch: Path) -> Path:
    """A folder whose ``evolinstruct`` is ``checkout``'s core/ (put first on PYTHONPATH, it wins
    over the installed editable package)."""
    root = scratch / f"import-{checkout.name}"
    root.mkdir()
    (root / "evolinstruct").symlink_to(checkout.resolve() / "core")
    return root


def run_measure(label: str, root: Path | None, folder: Path, texts_file: Path) -> dict[str, float]:
    env = dict(os.environ)
    if root is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(root), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    folder.mkdir()
    result = subprocess.run(
        [sys.executable, str(HERE), "--measure", str(folder), "--texts", str(texts_file)],
        env=env, capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"{label}: the measurement failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--responses", type=int, default=10_000)
    parser.add_argument("--chars", type=int, nargs="+", default=[600, 900, 1024, 2048],
                        help="response lengths in characters (SQLite keeps a record over about 1,000 bytes "
                             "partly in an overflow page, so the length matters)")
    parser.add_argument("--before", type=Path, default=None, help="a checkout of the code before the change")
    parser.add_argument("--measure", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--texts", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure is not None:
        print(json.dumps(measure(args.measure, args.texts)))
        return

    rows = []
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        before_root = import_root(args.before, scratch) if args.before is not None else None
        for chars in args.chars:
            answers = texts(args.responses, chars)
            texts_file = scratch / f"texts-{chars}.json"
            texts_file.write_text(json.dumps(answers), encoding="utf-8")
            json_bytes = sum(len(json.dumps({"text": t}, ensure_ascii=False).encode()) for t in answers) / len(answers)
            baseline = None
            for label, root in ([("before", before_root)] if before_root is not None else []) + [("after", None)]:
                result = run_measure(label, root, scratch / f"{label}-{chars}", texts_file)
                baseline = baseline or result["bytes"]
                rows.append((chars, json_bytes, label, result, result["bytes"] / baseline))

    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{args.responses} responses per length")
    print("| response chars | JSON bytes | code | bytes per response | ratio to before | write µs/response | resume read µs/response |")
    print("|---|---|---|---|---|---|---|")
    for chars, json_bytes, label, result, ratio in rows:
        count = result["responses"]
        print(f"| {chars} | {json_bytes:.0f} | {label} | {result['bytes'] / count:.0f} | {ratio:.2f} | "
              f"{1e6 * result['write_s'] / count:.1f} | {1e6 * result['read_s'] / count:.1f} |")

if __name__ == "__main__":
    main()
