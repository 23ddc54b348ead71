"""The Batch API's two sides over real HTTP: the loopback server's /v1/files and /v1/batches
through the official openai client, and the runtime's batch queue behind ``LLM.chat`` (a session
on the loopback server): answers cached as they arrive, refusals read as a direct request's, and a
ledger another session collects instead of sending again."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

import openai
import pytest

from evolinstruct.runtime.batches import ALL, BatchLedger, Batching, BatchSettings, InFlight, batched_roles
from evolinstruct.runtime.cache import Cache
from evolinstruct.runtime.llm import RequestRejected
from evolinstruct.runtime.pricing import BATCH_DISCOUNT, Price
from evolinstruct.runtime.session import EndpointConfig, Session
from evolinstruct.testing import Rule
from evolinstruct.types.errors import UsageError
from evolinstruct.types.records import Decoding

CHAT = "/v1/chat/completions"


def line(custom_id: str, text: str, **body: object) -> dict:
    return {"custom_id": custom_id, "method": "POST", "url": CHAT,
            "body": {"model": "m", "messages": [{"role": "user", "content": text}], **body}}


def jsonl(lines: list[dict]) -> bytes:
    return "".join(json.dumps(item) + "\n" for item in lines).encode()


def test_the_loopback_batch_routes_answer_each_line_as_the_chat_route_does(loopback_llm_factory) -> None:
    server = loopback_llm_factory([Rule(contains="refuse me", status=400), Rule(contains="break me", status=503)],
                                  batch_hold=0.0)
    client = openai.OpenAI(base_url=server.base_url, api_key="sk-loopback", max_retries=0)
    try:
        direct = json.loads(client.chat.completions.with_raw_response.create(
            model="m", messages=[{"role": "user", "content": "hello"}], seed=3).text)
        uploaded = client.files.create(file=("in.jsonl", jsonl([line("a", "hello", seed=3), line("b", "refuse me"),
                                                                 line("c", "break me")])), purpose="batch")
        assert client.files.retrieve(uploaded.id).purpose == "batch"
        batch = client.batches.create(input_file_id=uploaded.id, endpoint=CHAT, completion_window="24h")
        done = client.batches.retrieve(batch.id)
        assert done.status == "completed" and done.request_counts.completed == 1 and done.request_counts.failed == 2
        answered = [json.loads(text) for text in client.files.content(done.output_file_id).text.splitlines()]
        failed = {item["custom_id"]: item for item in
                  (json.loads(text) for text in client.files.content(done.error_file_id).text.splitlines())}
    finally:
        client.close()
    assert [item["custom_id"] for item in answered] == ["a"] and answered[0]["error"] is None
    body = answered[0]["response"]["body"]
    assert answered[0]["response"]["status_code"] == 200
    assert body == direct  # the same bytes as the chat route's answer to the same body
    assert failed["b"]["response"]["status_code"] == 400 and failed["c"]["response"]["status_code"] == 503
    assert "scripted 400" in failed["b"]["response"]["body"]["error"]["message"]
    assert server.batches.created == 1 and server.batches.submitted == {batch.id: ("a", "b", "c")}
    assert server.request_count == 4  # the direct request and the three lines, each counted as a chat request


def test_a_batch_is_held_in_progress_then_can_be_cancelled_listed_or_refused(loopback_llm_factory) -> None:
    server = loopback_llm_factory(batch_hold=3600.0)
    client = openai.OpenAI(base_url=server.base_url, api_key="sk-loopback", max_retries=0)
    try:
        good = client.files.create(file=("in.jsonl", jsonl([line("x", "one"), line("y", "two")])), purpose="batch")
        held = client.batches.create(input_file_id=good.id, endpoint=CHAT, completion_window="24h")
        assert client.batches.retrieve(held.id).status == "in_progress"
        cancelled = client.batches.cancel(held.id)
        assert cancelled.status == "cancelled" and cancelled.output_file_id is None
        errors = [json.loads(text) for text in client.files.content(cancelled.error_file_id).text.splitlines()]
        assert {item["custom_id"]: item["error"]["code"] for item in errors} == {"x": "batch_cancelled",
                                                                                "y": "batch_cancelled"}
        # Two lines with one custom_id: the whole file is refused, as OpenAI validates it first.
        twice = client.files.create(file=("in.jsonl", jsonl([line("x", "one"), line("x", "two")])), purpose="batch")
        refused = client.batches.create(input_file_id=twice.id, endpoint=CHAT, completion_window="24h")
        assert refused.status == "failed" and "not unique" in refused.errors.data[0].message
        with pytest.raises(openai.BadRequestError, match="completion_window"):
            client.batches.create(input_file_id=good.id, endpoint=CHAT, completion_window="1h")
        listed = client.batches.list(limit=1)
        assert [item.id for item in listed.data] == [refused.id] and listed.has_more
        assert [item.id for item in client.batches.list().data] == [refused.id, held.id]
    finally:
        client.close()
    assert server.request_count == 0  # a cancelled or refused batch answered nothing


def test_the_batch_price_is_the_one_declared_discount() -> None:
    price = Price(2.0, 8.0)
    assert price.batched().cost(1_000_000, 1_000_000) == pytest.approx(10.0 * (1 - BATCH_DISCOUNT))
    assert Price(2.0, 8.0, batch_discount=0.25).batched().cost(1_000_000, 0) == pytest.approx(1.5)


def test_batched_roles_are_named_like_roles_and_an_unknown_one_is_refused() -> None:
    assert batched_roles((ALL,), {"respond": False}, "default") == {"default", "respond"}
    assert batched_roles(("default",), {"respond": True, "judge": False}, "default") == {"default", "respond"}
    assert batched_roles((), {"judge": False}, "default") == frozenset()
    with pytest.raises(UsageError, match="--batch respond: no such role.*valid: all, default, judge"):
        batched_roles(("respond",), {"judge": False}, "default")


def test_an_unreadable_ledger_is_refused_naming_the_file(tmp_path) -> None:
    path = tmp_path / "batches.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(UsageError, match="batches.json: not a readable record of batches in flight"):
        BatchLedger(path)
    path.unlink()
    ledger = BatchLedger(path)
    ledger.add(InFlight("batch-1", "file-1", "m at e", "http://h/v1", ("k1", "k2")))
    assert BatchLedger(path).of("m at e") == [InFlight("batch-1", "file-1", "m at e", "http://h/v1", ("k1", "k2"))]
    ledger.remove("batch-1")
    assert not path.exists()  # nothing in flight: no file


def session(server, cache: Cache, ledger: BatchLedger, *, batched: bool, **limits: object) -> Session:
    endpoint = EndpointConfig((server.base_url,), "m", "loopback", "sk-loopback", **limits)
    batching = Batching(frozenset({"default"} if batched else ()), BatchSettings(size=4, window=0.2), ledger)
    return Session(endpoint, cache, batching=batching, prices={"m": Price(1000.0, 2000.0)})


def leave_in_flight(session: Session, ledger_path: Path) -> None:
    """Send "one" through a batching session and close it once its batch is recorded as in flight
    (the answer never awaited), as a build killed while its batch waits leaves it."""

    async def send_then_close() -> None:
        waiting = asyncio.ensure_future(session.llm.chat([{"role": "user", "content": "one"}], Decoding(), 7))
        while not ledger_path.exists():
            await asyncio.sleep(0.02)
        waiting.cancel()
        await session.aclose()

    asyncio.run(send_then_close())


def ask(session: Session, texts: list[str], **chat: object) -> list[object]:
    async def run() -> list[object]:
        try:
            return await asyncio.gather(*(session.llm.chat([{"role": "user", "content": text}], Decoding(), 7, **chat)
                                          for text in texts), return_exceptions=True)
        finally:
            await session.aclose()

    return asyncio.run(run())


def test_batched_chat_caches_each_answer_and_reads_refusals_as_direct_ones(tmp_path, loopback_llm_factory) -> None:
    server = loopback_llm_factory([Rule(contains="refuse me", status=400)], batch_hold=0.05)
    with contextlib.closing(Cache(tmp_path / "cache.sqlite")) as cache:
        batched = session(server, cache, BatchLedger(tmp_path / "batches.json"), batched=True)
        first = ask(batched, ["one", "two", "refuse me"])
        assert isinstance(first[2], RequestRejected) and "400" in str(first[2])
        assert server.batches.created == 1 and len(server.batches.submitted) == 1
        assert batched.llm.stats.sent == 3 and batched.llm.stats.failed == 1
        assert batched.llm.cost() == pytest.approx(Price(1000.0, 2000.0).batched().of(batched.llm.stats.usage))

        # A direct client on the same cache finds the batch's answers: nothing is sent again.
        before = server.request_count
        direct = session(server, cache, BatchLedger(None), batched=False)
        again = ask(direct, ["one", "two"])
        assert server.request_count == before and direct.llm.stats.cached == 2
        assert [c.text for c in again] == [c.text for c in first[:2]]  # type: ignore[union-attr]


def test_a_session_that_does_not_batch_collects_the_batches_an_earlier_one_left(tmp_path, loopback_llm_factory) -> None:
    server = loopback_llm_factory(batch_hold=3600.0)
    ledger_path = tmp_path / "batches.json"
    with contextlib.closing(Cache(tmp_path / "cache.sqlite")) as cache:
        first = session(server, cache, BatchLedger(ledger_path), batched=True)
        leave_in_flight(first, ledger_path)
        (pending,) = server.batches.submitted
        server.batch_hold = 0.0
        second = session(server, cache, BatchLedger(ledger_path), batched=False)
        answers = ask(second, ["one", "two"])
    assert all(not isinstance(answer, Exception) for answer in answers), answers
    # "one" came from the earlier batch, "two" directly; nothing went into a second batch.
    assert server.batches.created == 1 and pending in server.batches.collected
    assert second.llm.stats.sent == 1 and not ledger_path.exists()
    assert second.llm.stats.batch_usage.requests == 1


def test_a_batch_line_refused_for_its_response_format_is_asked_again_without_it(tmp_path, loopback_llm_factory) -> None:
    server = loopback_llm_factory(structured_output=False, batch_hold=0.0)
    with contextlib.closing(Cache(tmp_path / "cache.sqlite")) as cache:
        batched = session(server, cache, BatchLedger(None), batched=True)
        (answer,) = ask(batched, ["Rate this."], response_format={"type": "json_object"})
    assert not isinstance(answer, Exception), answer
    assert answer.structured is False and batched.llm.structured_output is False  # type: ignore[union-attr]
    # The refused line was not a failure: the plain request went into the next batch.
    assert [("response_format" in r.body, r.status) for r in server.requests] == [(True, 400), (False, 200)]
    assert server.batches.created == 2 and batched.llm.stats.failed == 0


def test_a_batch_file_over_a_megabyte_is_taken(loopback_llm_factory) -> None:
    # A thousand requests of a few kilobytes: past aiohttp's default 1 MB limit on a request body.
    server = loopback_llm_factory()
    client = openai.OpenAI(base_url=server.base_url, api_key="sk-loopback", max_retries=0)
    content = jsonl([line(f"k{i}", f"question {i} " + "x" * 3000) for i in range(1000)])
    try:
        uploaded = client.files.create(file=("in.jsonl", content), purpose="batch")
        batch = client.batches.create(input_file_id=uploaded.id, endpoint=CHAT, completion_window="24h")
        counts = client.batches.retrieve(batch.id).request_counts
    finally:
        client.close()
    assert uploaded.bytes == len(content) > 3_000_000 and counts.completed == counts.total == 1000


def test_a_line_an_earlier_batch_failed_is_sent_directly_by_a_session_that_does_not_batch(
    tmp_path, loopback_llm_factory
) -> None:
    server = loopback_llm_factory([Rule(contains="one", status=500, times=1)], batch_hold=3600.0)
    ledger_path = tmp_path / "batches.json"
    with contextlib.closing(Cache(tmp_path / "cache.sqlite")) as cache:
        first = session(server, cache, BatchLedger(ledger_path), batched=True)
        leave_in_flight(first, ledger_path)
        server.batch_hold = 0.0
        second = session(server, cache, BatchLedger(ledger_path), batched=False)
        (answer,) = ask(second, ["one"])
    assert not isinstance(answer, Exception), answer
    # The batch answered it with a 500; the direct request that followed got the answer.
    assert [r.status for r in server.requests] == [500, 200] and server.batches.created == 1
    assert second.llm.stats.sent == 1 and second.llm.stats.batch_usage.requests == 0


def test_batch_in_a_recipe_or_the_api_takes_true_or_role_names(tmp_path) -> None:
    from evolinstruct.app.build.config import make_config

    given = {"seeds": tmp_path / "seeds.jsonl", "out": tmp_path / "out"}
    assert make_config({**given, "batch": True}).batch == (ALL,)
    assert make_config({**given, "batch": False}).batch == ()
    assert make_config({**given, "batch": ["respond", " default "]}).batch == ("respond", "default")
    with pytest.raises(UsageError, match="--batch: must be true, or role names"):
        make_config({**given, "batch": 5})
    with pytest.raises(UsageError, match="--batch-size"):
        make_config({**given, "batch_size": 0})


def test_a_recipe_price_may_say_its_own_batch_discount(tmp_path) -> None:
    from evolinstruct.app.build.config import make_config, read_recipe

    recipe = tmp_path / "run.toml"
    recipe.write_text('seeds = "s.jsonl"\nout = "out"\n[prices."m"]\ninput = 2\noutput = 8\nbatch_discount = 0.25\n'
                      '[prices."n"]\ninput = 2\noutput = 8\n', encoding="utf-8")
    prices = make_config(read_recipe(recipe)).all_prices
    assert prices["m"].batched().cost(1_000_000, 1_000_000) == pytest.approx(7.5)
    assert prices["n"].batched().cost(1_000_000, 1_000_000) == pytest.approx(10.0 * (1 - BATCH_DISCOUNT))
    recipe.write_text('seeds = "s.jsonl"\nout = "out"\n[prices."m"]\ninput = 2\noutput = 8\nbatch_discount = 2\n',
                      encoding="utf-8")
    with pytest.raises(UsageError, match='prices."m"'):
        make_config(read_recipe(recipe))
