"""How a cluster build splits and joins, without a cluster: the shards' seeds, their share of the
concurrency, and the rows and counts of their folders joined into the one-process run's."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from evolinstruct import Elimination, Sample, Seed, Usage
from evolinstruct.app.cluster.ray_build import share, shard_of
from evolinstruct.app.cluster.shard_folders import SCRATCH, absorb_shard_caches, merge_rows, shard_folder
from evolinstruct.runtime.cache import Cache
from evolinstruct.runtime.engine import Lineage
from evolinstruct.runtime.failures import Failure
from evolinstruct.runtime.output import DATASET, ELIMINATED, FAILED, Output
from evolinstruct.runtime.seeds import Selection
from evolinstruct.runtime.tally import Tally

ROUNDS = 2


def test_the_concurrency_is_shared_out_whole_and_adds_up() -> None:
    for total, parts in itertools.product(range(1, 40), range(1, 12)):
        if parts > total:
            continue
        shares = share(total, parts)
        assert sum(shares) == total and len(shares) == parts and max(shares) - min(shares) <= 1 and min(shares) >= 1


@pytest.mark.parametrize("user_shard", [None, (0, 1), (1, 2), (2, 3), (0, 4)])
@pytest.mark.parametrize("limit", [None, 37])
def test_a_shard_of_a_shard_is_one_shard_and_positions_go_round_robin(user_shard, limit) -> None:
    selected = [index for index in range(100) if Selection(limit, user_shard).keeps(index)]
    for count in (1, 2, 3, 5):
        for shard in range(count):
            nested = Selection(limit, shard_of(user_shard, shard, count))
            assert [index for index in range(100) if nested.keeps(index)] == selected[shard::count]


def lineage(number: int) -> Lineage:
    """Seed ``s{number}``: kept rows, and some lineages with eliminations or a failure."""
    seed = Seed(id=f"s{number}", index=number, instruction=f"Describe harbour {number}.")
    usage = {"evolve": Usage(prompt_tokens=10 + number, completion_tokens=5, requests=1)}
    kept = [Sample(id=seed.id, seed_id=seed.id, parent_id=None, round=0, operation="seed", domain="general",
                   instruction=seed.instruction, response=f"An answer about harbour {number} — «quoted».", usage=usage)]
    result = Lineage(seed, kept=kept)
    if number % 3 == 0:
        candidate = Sample(id=f"{seed.id}/r1", seed_id=seed.id, parent_id=seed.id, round=1, operation="deepen",
                           domain="general", instruction="A rewrite.", response="Sorry.", usage=usage)
        result.eliminated.append((candidate, Elimination("sorry-short", "says sorry in 1 word")))
    if number % 4 == 1:
        result.failed.append(Failure(sample_id=f"{seed.id}/r1", seed_id=seed.id, parent_id=seed.id, round=1,
                                     operation="concretize", stage="evolve", kind="transient", error="LLMFailure: 500"))
    else:
        kept.append(Sample(id=f"{seed.id}/r2", seed_id=seed.id, parent_id=seed.id, round=1, operation="concretize",
                           domain="general", instruction=f"Harder harbour {number}.", response="Long answer.", usage=usage))
    return result


def write(folder: Path, lineages: list[Lineage], seeds: int) -> Tally:
    folder.mkdir(parents=True, exist_ok=True)
    tally = Tally(seeds=seeds, rounds=ROUNDS)
    output = Output(folder, {"endpoint": "loopback", "model": "m"}, tally)
    for item in lineages:
        output.write_lineage(item)
    output.close()
    return tally


def test_shard_folders_join_into_the_bytes_and_counts_of_one_process(tmp_path: Path) -> None:
    lineages = [lineage(number) for number in range(23)]
    reference = write(tmp_path / "one", lineages, 23)
    out = tmp_path / "cluster"
    count = 3
    shards = {index: shard_folder(out, index, count) for index in range(count)}
    merged = Tally(seeds=23, rounds=ROUNDS)
    for index, folder in shards.items():
        merged.absorb(write(folder, lineages[index::count], len(lineages[index::count])))
    assert merge_rows(out, shards, count, [item.seed.id for item in lineages]) == 23
    for name in (DATASET, ELIMINATED, FAILED):
        assert (out / name).read_bytes() == (tmp_path / "one" / name).read_bytes(), name
    assert merged.as_dict() == reference.as_dict()
    assert reference.failed > 0 and reference.eliminated > 0  # the rows cover every file


def test_a_shard_that_did_not_finish_leaves_out_its_lineages_only(tmp_path: Path) -> None:
    lineages = [lineage(number) for number in range(10)]
    out = tmp_path / "cluster"
    shards = {index: shard_folder(out, index, 2) for index in range(2)}
    write(shards[0], lineages[0::2], 5)
    write(shards[1], lineages[1::2][:2], 5)  # it stopped after two of its lineages
    assert merge_rows(out, {0: shards[0], 1: shards[1]}, 2, [item.seed.id for item in lineages]) == 7
    written = [json.loads(line)["seed_id"] for line in (out / DATASET).read_text().splitlines()]
    assert list(dict.fromkeys(written)) == ["s0", "s1", "s2", "s3", "s4", "s6", "s8"]
    assert merge_rows(out, {0: shards[0]}, 2, [item.seed.id for item in lineages]) == 5  # a shard that never returned


def test_a_row_out_of_its_shard_s_order_is_an_error_not_a_lost_row(tmp_path: Path) -> None:
    lineages = [lineage(number) for number in range(6)]
    out = tmp_path / "cluster"
    folder = shard_folder(out, 0, 1)
    write(folder, [lineages[1], lineages[0], *lineages[2:]], 6)
    with pytest.raises(RuntimeError, match="out of its seed order"):
        merge_rows(out, {0: folder}, 1, [item.seed.id for item in lineages])


def test_shard_caches_are_absorbed_into_the_folder_s_cache_and_their_folders_removed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    for index in range(2):
        shard = Cache(shard_folder(out, index, 2) / "cache.sqlite", exclusive=True)
        shard.put(f"k{index}", "chat", {"text": str(index)})
        shard.close()
    main = Cache(out / "cache.sqlite")
    assert absorb_shard_caches(out, main) == 2
    assert main.get("k0") == {"text": "0"} and main.get("k1") == {"text": "1"}
    assert not (out / SCRATCH).exists()
    assert absorb_shard_caches(out, main) == 0
