"""The loopback server over real HTTP, driven by the real openai client."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from evolinstruct.types.rewrite import TEMPLATE_LABELS, leaks_template
from evolinstruct.testing import ANSWER_MARKER, ChatRequest, LoopbackLLM, Rule, RuleError, load_rules, offline_reply

REWRITE_PROMPT = (
    "I want you to act as a Prompt Rewriter.\n"
    "#Original Instruction#:\nList three uses of {thing}.\n\n"
    "#Rewritten Instruction#:\n"
)
BREADTH_PROMPT = (
    "I want you to act as a Prompt Creator.\n"
    "#Original Instruction#:\nExplain how photosynthesis turns sunlight into sugar in green plants.\n\n"
    "#New Instruction#:\n"
)


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


@pytest.fixture
def client(loopback_llm: LoopbackLLM) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=loopback_llm.base_url, api_key="x", max_retries=0, timeout=10) as c:
        yield c


def ask(client: openai.OpenAI, text: str, **kwargs: object) -> str:
    response = client.chat.completions.create(model="m", messages=user(text), **kwargs)
    return response.choices[0].message.content


# -- rules ----------------------------------------------------------------------------------------


@pytest.mark.loopback_llm(Rule(contains="capital of France", reply="Paris"), Rule(pattern=r"^\d+\+\d+$", reply="4"))
def test_canned_replies_match_on_substring_and_pattern(client: openai.OpenAI, loopback_llm: LoopbackLLM) -> None:
    assert ask(client, "What is the capital of France?") == "Paris"
    assert ask(client, "2+2") == "4"
    other = ask(client, "Tell me about Spain.")
    assert other.startswith(ANSWER_MARKER)
    assert [r.rule for r in loopback_llm.requests] == [0, 1, None]


def test_rules_look_at_the_last_user_message_only(loopback_llm_factory) -> None:
    server = loopback_llm_factory([Rule(contains="secret", reply="found")])
    with openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0) as c:
        earlier = [{"role": "user", "content": "secret"}, {"role": "assistant", "content": "ok"}]
        reply = c.chat.completions.create(model="m", messages=[*earlier, *user("something else")])
        assert reply.choices[0].message.content != "found"
        parts = [{"role": "user", "content": [{"type": "text", "text": "the secret word"}]}]
        assert c.chat.completions.create(model="m", messages=parts).choices[0].message.content == "found"


@pytest.mark.loopback_llm(Rule(reply=("first", "second", "third"), times=4))
def test_a_tuple_reply_cycles_and_times_retires_the_rule(client: openai.OpenAI) -> None:
    replies = [ask(client, f"question {i}") for i in range(6)]
    assert replies[:4] == ["first", "second", "third", "first"]
    assert all(r.startswith(ANSWER_MARKER) for r in replies[4:])


@pytest.mark.loopback_llm(Rule(calls=(2,), status=429, retry_after=3))
def test_calls_2_is_a_rate_limit_with_retry_after(client: openai.OpenAI, loopback_llm: LoopbackLLM) -> None:
    assert ask(client, "one")
    with pytest.raises(openai.RateLimitError) as caught:
        ask(client, "two")
    assert caught.value.status_code == 429
    assert caught.value.response.headers["retry-after"] == "3"
    assert caught.value.body["code"] == "rate_limit_exceeded"
    assert ask(client, "three")
    assert [(r.number, r.status, r.rule) for r in loopback_llm.requests] == [(1, 200, None), (2, 429, 0), (3, 200, None)]


@pytest.mark.loopback_llm(Rule(contains="fail", status=500), Rule(contains="busy", status=503, retry_after=0.5))
def test_server_errors_have_openai_shaped_bodies(client: openai.OpenAI, loopback_llm: LoopbackLLM) -> None:
    with pytest.raises(openai.InternalServerError) as caught:
        ask(client, "please fail")
    assert caught.value.status_code == 500
    assert set(caught.value.body) == {"message", "type", "param", "code"}
    assert caught.value.body["type"] == "server_error"
    with pytest.raises(openai.InternalServerError) as busy:
        ask(client, "busy now")
    assert busy.value.status_code == 503
    assert busy.value.response.headers["retry-after"] == "0.5"


def test_probability_rules_are_reproducible_for_a_seed(loopback_llm_factory) -> None:
    rule = Rule(probability=0.5, status=500)

    async def statuses(server: LoopbackLLM) -> list[int]:
        async with openai.AsyncOpenAI(base_url=server.base_url, api_key="x", max_retries=0) as c:

            async def one(i: int) -> None:
                try:
                    await c.chat.completions.create(model="m", messages=user(f"q{i}"))
                except openai.InternalServerError:
                    pass

            await asyncio.gather(*(one(i) for i in range(40)))  # concurrent: arrival order varies
        return [r.status for r in sorted(server.requests, key=lambda r: r.number)]

    first = asyncio.run(statuses(loopback_llm_factory([rule], seed=7)))
    again = asyncio.run(statuses(loopback_llm_factory([rule], seed=7)))
    other = asyncio.run(statuses(loopback_llm_factory([rule], seed=8)))
    assert first == again
    assert first != other
    assert 8 <= first.count(500) <= 32  # about half, not all or none


@pytest.mark.loopback_llm(Rule(contains="broken", malformed=True))
def test_a_malformed_body_is_an_error_in_the_client(client: openai.OpenAI, loopback_llm: LoopbackLLM) -> None:
    with pytest.raises((ValueError, openai.APIError)):
        ask(client, "broken reply please")
    assert loopback_llm.requests[-1].status == 200
    assert ask(client, "fine reply please").startswith(ANSWER_MARKER)


@pytest.mark.loopback_llm(Rule(contains="slow", hang=30))
def test_a_hang_makes_the_client_time_out_and_does_not_block_stop(loopback_llm: LoopbackLLM) -> None:
    with openai.OpenAI(base_url=loopback_llm.base_url, api_key="x", max_retries=0, timeout=0.3) as c:
        started = time.monotonic()
        with pytest.raises(openai.APITimeoutError):
            ask(c, "slow one")
        assert time.monotonic() - started < 5
        assert ask(c, "quick one").startswith(ANSWER_MARKER)  # other requests are not held up
    started = time.monotonic()
    loopback_llm.stop()
    assert time.monotonic() - started < 5


def test_latency_and_delay_are_added_without_blocking(loopback_llm_factory) -> None:
    server = loopback_llm_factory([Rule(contains="late", delay=0.3)], latency=0.2)

    async def run() -> tuple[float, float]:
        async with openai.AsyncOpenAI(base_url=server.base_url, api_key="x", max_retries=0) as c:
            await c.chat.completions.create(model="m", messages=user("warm up"))
            started = time.monotonic()
            await asyncio.gather(*(c.chat.completions.create(model="m", messages=user(f"q{i}")) for i in range(20)))
            concurrent = time.monotonic() - started
            started = time.monotonic()
            await c.chat.completions.create(model="m", messages=user("late"))
            return concurrent, time.monotonic() - started

    concurrent, late = asyncio.run(run())
    assert 0.2 <= concurrent < 1.5  # 20 requests overlap their latency instead of queueing
    assert late >= 0.5


# -- responses ------------------------------------------------------------------------------------


def test_offline_replies_depend_only_on_the_request(loopback_llm_factory) -> None:
    a, b = loopback_llm_factory(), loopback_llm_factory(seed=99)
    prompt = REWRITE_PROMPT.format(thing="a paperclip")
    texts = {}
    for name, server in (("a", a), ("b", b)):
        with openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0) as c:
            texts[name] = [ask(c, prompt, seed=s) for s in (1, 1, 2, 3, 4)]
    assert texts["a"] == texts["b"]  # another server, another server seed: same text
    first, repeat, *others = texts["a"]
    assert first == repeat
    assert len({first, *others}) > 1  # the request seed is part of the request hash


def test_n_choices_are_distinct_and_usage_is_counted(client: openai.OpenAI) -> None:
    response = client.chat.completions.create(model="m", messages=user("Describe a lighthouse at night."), n=3)
    assert [c.index for c in response.choices] == [0, 1, 2]
    texts = [c.message.content for c in response.choices]
    assert len(set(texts)) == 3
    assert all(c.finish_reason == "stop" and c.message.role == "assistant" for c in response.choices)
    expected_completion = sum(round(len(t.split()) * 4 / 3) for t in texts)
    assert response.usage.prompt_tokens == round(5 * 4 / 3)
    assert response.usage.completion_tokens == expected_completion
    assert response.usage.total_tokens == response.usage.prompt_tokens + expected_completion


def test_the_response_is_shaped_like_openais(loopback_llm: LoopbackLLM) -> None:
    body = json.dumps({"model": "gpt-x", "messages": user("hello there")}).encode()
    request = urllib.request.Request(f"{loopback_llm.base_url}/chat/completions", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as raw:
        first = raw.read()
        assert raw.headers["Content-Type"].startswith("application/json")
    with urllib.request.urlopen(request) as raw:
        assert raw.read() == first  # byte-identical: fixed id, created and text
    data = json.loads(first)
    assert {"id", "object", "created", "model", "choices", "usage"} <= set(data)
    assert data["object"] == "chat.completion" and data["model"] == "gpt-x"
    assert data["id"].startswith("chatcmpl-") and isinstance(data["created"], int)
    assert set(data["choices"][0]) >= {"index", "message", "finish_reason"}
    assert set(data["usage"]) == {"prompt_tokens", "completion_tokens", "total_tokens"}


def test_bad_requests_get_a_400_and_are_logged(loopback_llm: LoopbackLLM) -> None:
    request = urllib.request.Request(f"{loopback_llm.base_url}/chat/completions", data=b"{not json",
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request)
    assert caught.value.code == 400
    assert json.loads(caught.value.read())["error"]["type"] == "invalid_request_error"
    assert [(r.number, r.status, r.rule) for r in loopback_llm.requests] == [(1, 400, None)]


def test_models_lists_nothing_unless_told_since_any_model_name_is_served(
    client: openai.OpenAI, loopback_llm_factory
) -> None:
    assert [m.id for m in client.models.list()] == []
    assert ask(client, "hi")  # any model name gets an answer
    named = loopback_llm_factory(models=("llama", "qwen"))
    with openai.OpenAI(base_url=named.base_url, api_key="x", max_retries=0) as c:
        assert [m.id for m in c.models.list()] == ["llama", "qwen"]


def test_a_custom_responder_and_a_failing_one(loopback_llm_factory) -> None:
    def shout(request: ChatRequest) -> str:
        if "crash" in request.last_user_message:
            raise RuntimeError("on purpose")
        return f"{request.last_user_message.upper()} #{request.choice}"

    server = loopback_llm_factory(responder=shout)
    with openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0) as c:
        response = c.chat.completions.create(model="m", messages=user("hey"), n=2)
        assert [ch.message.content for ch in response.choices] == ["HEY #0", "HEY #1"]
        with pytest.raises(openai.InternalServerError, match="on purpose"):
            ask(c, "crash")


def test_the_request_log(client: openai.OpenAI, loopback_llm: LoopbackLLM) -> None:
    ask(client, "same", seed=1)
    ask(client, "same", seed=1)
    ask(client, "different", seed=1)
    log = loopback_llm.requests
    assert [r.number for r in log] == [1, 2, 3]
    assert log[0].key == log[1].key != log[2].key
    assert re.fullmatch(r"[0-9a-f]{64}", log[0].key)
    assert log[2].body["messages"] == user("different") and log[2].last_user_message == "different"
    loopback_llm.reset_log()
    assert loopback_llm.requests == []
    loopback_llm.add_rule(Rule(calls=(loopback_llm.request_count + 1,), reply="scripted later"))
    assert ask(client, "after reset") == "scripted later"
    assert [(r.number, r.rule) for r in loopback_llm.requests] == [(4, 0)]
    loopback_llm.clear_rules()
    assert loopback_llm.rules == ()


def test_the_env_fixture_points_at_the_server(loopback_llm: LoopbackLLM, loopback_llm_env: dict[str, str]) -> None:
    assert loopback_llm_env == {"OPENAI_BASE_URL": loopback_llm.base_url, "OPENAI_API_KEY": "sk-loopback"}
    with openai.OpenAI(base_url=loopback_llm_env["OPENAI_BASE_URL"], api_key=loopback_llm_env["OPENAI_API_KEY"]) as c:
        assert ask(c, "hi").startswith(ANSWER_MARKER)


# -- the offline model ----------------------------------------------------------------------------


def offline(text: str, key: str = "k", choice: int = 0) -> str:
    return offline_reply(ChatRequest("m", tuple(user(text)), None, None, None, None, 1, key, choice))


def test_offline_in_depth_rewrites_add_10_to_20_words_and_no_labels() -> None:
    given = "List three uses of a paperclip."
    added_sentences = set()
    for i in range(60):
        text = offline(REWRITE_PROMPT.format(thing="a paperclip"), key=f"k{i}")
        assert text.startswith(given + " ")
        added = text[len(given) + 1:]
        assert 10 <= len(added.split()) <= 20, added
        assert not any(label in text for label in TEMPLATE_LABELS)
        assert leaks_template(text) is None
        added_sentences.add(added)
    assert len(added_sentences) > 10


def test_offline_in_depth_keeps_multiline_instructions_whole() -> None:
    prompt = "#Original Instruction#:\nFix this:\n```python\nprint(1\n```\n#Rewritten Instruction#:\n"
    text = offline(prompt)
    assert text.startswith("Fix this:\n```python\nprint(1\n```\n\n")


def test_offline_in_breadth_creates_a_new_instruction() -> None:
    texts = {offline(BREADTH_PROMPT, key=f"k{i}") for i in range(20)}
    assert len(texts) > 3
    for text in texts:
        assert text != "Explain how photosynthesis turns sunlight into sugar in green plants."
        assert not any(label in text for label in TEMPLATE_LABELS)
        assert leaks_template(text) is None
        assert any(w in text for w in ("photosynthesis", "sunlight", "sugar", "green", "plants", "turns"))


def test_offline_equality_judge_says_not_equal() -> None:
    judge = "Are these two instructions Equal or Not Equal? Answer with Equal or Not Equal.\nA: x\nB: y"
    assert offline(judge) == "Not Equal"


def test_offline_answers_are_honest_placeholders() -> None:
    for i in range(30):
        text = offline(f"Explain the water cycle to a child, variant {i}.", key=f"k{i}")
        assert text.startswith(ANSWER_MARKER)
        assert 60 <= len(text.split()) <= 120
        assert "sorry" not in text.lower()
        assert "not a language model" in text
        assert "water" in text or "cycle" in text or "child" in text
    math = offline("Solve 2x = 4. Put the final answer in \\boxed{}.")
    assert math.splitlines()[-1] == "\\boxed{0}"
    code = offline("Write a Python function that reverses a list.")
    assert "```python\ndef solution(*args):\n    raise NotImplementedError\n```" in code


# -- rules as data --------------------------------------------------------------------------------


def test_rules_round_trip_through_dicts() -> None:
    rules = [
        Rule(contains="x", reply=("a", "b"), times=2),
        Rule(calls=(2, 5), status=429, retry_after=1.5),
        Rule(pattern="^q", probability=0.25, malformed=True),
        Rule(hang=3.0),
    ]
    assert [Rule.from_dict(json.loads(json.dumps(r.as_dict()))) for r in rules] == rules
    assert Rule.from_dict({"reply": ["a", "b"], "calls": [1]}) == Rule(reply=("a", "b"), calls=(1,))


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"status": 200}, "status"),
        ({"reply": "a", "status": 500}, "status"),
        ({"probability": 2, "reply": "a"}, "probability"),
        ({"pattern": "(", "reply": "a"}, "pattern"),
        ({"calls": [0], "reply": "a"}, "calls"),
        ({"retry_after": 1, "reply": "a"}, "retry_after"),
        ({"replies": "a"}, "replies"),
    ],
)
def test_bad_rules_name_their_field(data: dict, field: str) -> None:
    with pytest.raises(RuleError) as caught:
        Rule.from_dict(data)
    assert caught.value.field_name == field
    assert f"'{field}'" in str(caught.value)


def test_a_bad_rules_file_names_the_file_the_index_and_the_field(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps([{"reply": "ok"}, {"status": 700}]))
    with pytest.raises(RuleError, match=r"rules\.json: rule 1: field 'status': must be an HTTP error status"):
        load_rules(path)
    path.write_text("[{")
    with pytest.raises(RuleError, match=r"rules\.json: not valid JSON: .* line 1"):
        load_rules(path)
    with pytest.raises(RuleError, match="missing.json: cannot read"):
        load_rules(tmp_path / "missing.json")
    path.write_bytes(b'[{"reply": "ok"},\n {"reply": "caf\xe9"}]')
    with pytest.raises(RuleError, match=r"rules\.json: not UTF-8 \(byte 0xe9 on line 2\)"):
        load_rules(path)
    path.write_bytes(bytes(range(256)))
    with pytest.raises(RuleError, match=r"rules\.json: not UTF-8 \(byte 0x80 on line 2\)"):
        load_rules(path)
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(RuleError, match=r"rules\.json: not a rules file: lists or objects nested too deep"):
        load_rules(path)


# -- foreground serving ---------------------------------------------------------------------------


def start_process(args: list[str]) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    if not line:
        process.kill()
        raise AssertionError(f"no URL printed; stderr: {process.stderr.read()}")
    found = re.fullmatch(r"listening on (http://127\.0\.0\.1:(\d+)/v1)\n", line)
    assert found and int(found.group(2)) > 0, line
    return process, found.group(1)


def stop_process(process: subprocess.Popen[str]) -> str:
    process.terminate()
    _, err = process.communicate(timeout=10)
    return err


def test_the_cli_serves_and_prints_its_url(tmp_path: Path) -> None:
    script = tmp_path / "rules.json"
    script.write_text(json.dumps([{"contains": "ping", "reply": "pong"}]))
    process, url = start_process(["evol", "loopback-llm", "--port", "0", "--script", str(script)])
    try:
        with openai.OpenAI(base_url=url, api_key="x", max_retries=0, timeout=10) as c:
            assert ask(c, "ping") == "pong"
            assert ask(c, "hello").startswith(ANSWER_MARKER)
    finally:
        err = stop_process(process)
    assert f"OPENAI_BASE_URL={url}" in err


def test_the_command_serves_with_a_latency() -> None:
    process, url = start_process([sys.executable, "-m", "evolinstruct", "loopback-llm", "--port", "0", "--latency", "0.3"])
    try:
        with openai.OpenAI(base_url=url, api_key="x", max_retries=0, timeout=10) as c:
            started = time.monotonic()
            assert ask(c, "hello")
            assert time.monotonic() - started >= 0.3
    finally:
        stop_process(process)


@pytest.mark.parametrize("command", [["evol", "loopback-llm"], [sys.executable, "-m", "evolinstruct", "loopback-llm"]])
def test_a_bad_script_is_a_clear_error(tmp_path: Path, command: list[str]) -> None:
    script = tmp_path / "bad.json"
    script.write_text(json.dumps([{"reply": "ok"}, {"reply": "x", "hang": -1}]))
    result = subprocess.run([*command, "--port", "0", "--script", str(script)], capture_output=True, text=True,
                            timeout=30, env={**os.environ, "COLUMNS": "200"})
    assert result.returncode == 2
    assert "bad.json: rule 1: field 'hang'" in " ".join(result.stderr.split())
