"""Build the fingerprint files of the built-in benchmarks from their original files.

    python scripts/build_fingerprints.py \
        --humaneval ../shared/data/HumanEval.jsonl.gz \
        --mbpp ../shared/data/mbpp.jsonl \
        --gsm8k ../shared/data/gsm8k_test.jsonl \
        --math500 ../shared/data/prm800k_math_splits_test.jsonl

Writes core/builtins/curation/fingerprints/NAME.json for each benchmark given: hashed word
n-grams of every item, the source file's SHA-256 and record count, never the benchmark's text.
Run it again whenever the tokenisation, the hash or the n-gram size changes; a test checks that
the shipped files equal what this script builds from ../shared/data.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from evolinstruct.builtins.curation.benchmarks import BUILTIN_SOURCES, build_builtin, write_fingerprints

OUT = Path(__file__).resolve().parents[1] / "core" / "builtins" / "curation" / "fingerprints"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, source in BUILTIN_SOURCES.items():
        parser.add_argument(f"--{name}", type=Path, metavar="PATH", help=f"{source.description} ({source.selection})")
    parser.add_argument("--out", type=Path, default=OUT, help="folder to write NAME.json into")
    args = parser.parse_args()
    given = {name: getattr(args, name) for name in BUILTIN_SOURCES if getattr(args, name) is not None}
    if not given:
        parser.error("give at least one benchmark file")
    args.out.mkdir(parents=True, exist_ok=True)
    for name, path in given.items():
        fingerprints = build_builtin(name, path)
        target = args.out / f"{name}.json"
        write_fingerprints(fingerprints, target)
        print(f"{target}: {len(fingerprints.items)} items ({len(fingerprints.skipped)} too short), "
              f"{target.stat().st_size / 1024:.0f} KiB from {path.name} ({fingerprints.source['sha256'][:12]})")


if __name__ == "__main__":
    main()
