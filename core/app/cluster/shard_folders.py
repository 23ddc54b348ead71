"""Where the shards of a cluster build work, and how their results become the folder's files.

Each shard of a build on Ray (ray_build.py) is a complete build of its own seeds into
``OUT/.ray/shard-J-of-S/``, with its own response cache there (one writer per SQLite file). When
the shards are done, the driver

1. writes ``dataset.jsonl``, ``eliminated.jsonl`` and ``failed.jsonl`` from the shards' files,
   lineage by lineage in the order of the seeds. A shard writes its lineages in its own seed order
   and a lineage's rows are consecutive lines of each file, so each row is copied byte for byte
   to where a one-process run of the same command writes it;
2. adds every shard's cache to the folder's ``cache.sqlite`` and removes the shard folders.

A shard folder left behind by a cluster build that was itself killed is absorbed the same way by
the next build of the folder, with or without Ray: nothing it received is paid for twice.
"""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Iterable, Iterator, Mapping

from ...runtime.cache import Cache
from ...runtime.output import CACHE, ROW_FILES, SCRATCH, replaced_when_done
from ...runtime.rows import BUILD_REQUIRES, RowSchema, parse_row
from ...types.errors import UsageError

__all__ = ["SCRATCH", "absorb_shard_caches", "merge_rows", "shard_folder"]


def shard_folder(out: Path, index: int, count: int) -> Path:
    return out / SCRATCH / f"shard-{index + 1}-of-{count}"


def folder_cache(path: Path) -> Cache:
    """The folder's response cache, with what the shards of a cluster build that was killed had
    received added to it: the cache factory of every build of a folder, with or without Ray."""
    cache = Cache(path)
    try:
        absorb_shard_caches(path.parent, cache)
    except BaseException:
        cache.close()
        raise
    return cache


class _Rows:
    """One shard file read line by line, each line checked against the row declaration, with the
    seed id of the line ahead."""

    def __init__(self, handle: IO[bytes], path: Path, schema: RowSchema) -> None:
        self._lines = enumerate(handle, start=1)
        self.path = path
        self.schema = schema
        self.line: bytes | None = None
        self.seed_id: str | None = None
        self._advance()

    def _advance(self) -> None:
        number, self.line = next(self._lines, (0, None))
        if self.line is None:
            self.seed_id = None
            return
        row = parse_row(self.line, self.path, number)
        self.schema.check(row, self.path, number, BUILD_REQUIRES)
        self.seed_id = str(row["seed_id"])

    def take(self, seed_id: str) -> Iterator[bytes]:
        while self.line is not None and self.seed_id == seed_id:
            yield self.line
            self._advance()


def merge_rows(out: Path, shards: Mapping[int, Path], count: int, seed_ids: Iterable[str]) -> int:
    """Write the folder's row files from the shard folders; returns the lineages written.

    ``shards`` maps a shard's index to its folder (the shards that finished); the seed at position
    ``p`` of the build's selected seeds is shard ``p % count``'s. A shard that stopped early wrote
    a prefix of its lineages: the others are missing here too, as they would be from a one-process
    run stopped at the same point. A row that does not fall into place is a bug, and raises. The
    files are written under temporary names and put in place together when all is merged.
    """
    with ExitStack() as stack:
        outputs: dict[str, IO[bytes]] = {}
        for name in ROW_FILES:
            # Closed before it is renamed into place: the stack unwinds in reverse.
            temporary = stack.enter_context(replaced_when_done(out / name))
            outputs[name] = stack.enter_context(temporary.open("wb"))
        readers = {
            index: {name: _Rows(stack.enter_context((folder / name).open("rb")), folder / name, schema)
                    for name, schema in ROW_FILES.items()}
            for index, folder in shards.items()
        }
        lineages = 0
        for position, seed_id in enumerate(seed_ids):
            files = readers.get(position % count)
            if files is None:
                continue
            found = False
            for name, rows in files.items():
                for line in rows.take(seed_id):
                    outputs[name].write(line)
                    found = True
            lineages += found
        stray = [(index, name, rows.seed_id) for index, files in readers.items() for name, rows in files.items()
                 if rows.line is not None]
        if stray:
            index, name, seed_id = stray[0]
            raise RuntimeError(f"shard {index + 1} of {count} wrote {name} rows of seed {seed_id!r} out of its seed order")
    return lineages


def absorb_shard_caches(out: Path, cache: Cache) -> int:
    """Add the caches of the shard folders under ``out`` to ``cache``, then remove those folders;
    returns the entries added."""
    scratch = out / SCRATCH
    if not scratch.is_dir():
        return 0
    added = 0
    for folder in sorted(scratch.glob("shard-*")):
        path = folder / CACHE
        if path.is_file():
            try:
                added += cache.absorb(path)
            except sqlite3.OperationalError as error:
                raise UsageError(
                    f"{path}: cannot be read ({error}); is a shard of an earlier cluster build of this folder still "
                    "running? Wait for it to end, or end it"
                ) from None
        shutil.rmtree(folder)
    if not any(scratch.iterdir()):
        scratch.rmdir()
    return added
