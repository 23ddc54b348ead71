"""Roles: the --role spelling, a recipe's tables under it, the stages a role serves, and a
stage's requests reaching its role's server through the run context."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from evolinstruct.app.build.config import make_config, read_recipe
from evolinstruct.offline.server import LoopbackLLM
from evolinstruct.runtime.roles import RoleConfig, parse_role, resolve_roles, roles_from
from evolinstruct.runtime.session import EndpointConfig, Session
from evolinstruct.types.errors import UsageError
from evolinstruct.types.records import Decoding

STAGES = ("difficulty", "equality", "evolve", "respond")


def test_a_role_is_stage_model_and_an_optional_url() -> None:
    assert parse_role("respond=big") == ("respond", RoleConfig(model="big"))
    name, role = parse_role("judge=small@http://127.0.0.1:9/v1")
    assert name == "judge" and role.model == "small" and role.base_url == ("http://127.0.0.1:9/v1",)
    for wrong in ("respond", "=big", "respond=", "respond=big@", "respond=a,a", "respond=a,,b"):
        with pytest.raises(ValueError):
            parse_role(wrong)


def test_a_role_may_name_several_models_on_the_command_line_or_in_a_recipe() -> None:
    name, role = parse_role("evolve=model-a, model-b@http://127.0.0.1:9/v1")
    assert name == "evolve" and role.models == ("model-a", "model-b") and role.base_url == ("http://127.0.0.1:9/v1",)
    assert RoleConfig(model=["model-a", "model-b"]) == RoleConfig(model="model-a,model-b")
    assert RoleConfig(model=["only"]).model == "only"  # one model is recorded as a name, as before
    with pytest.raises(ValueError, match="model-a named more than once"):
        RoleConfig(model=["model-a", "model-a"])
    with pytest.raises(ValueError, match="a list of model names"):
        RoleConfig(model=5)


def test_the_command_lines_role_replaces_the_recipes_of_the_same_name() -> None:
    recipe = {"respond": RoleConfig(model="from-recipe", temperature=0.1), "judge": RoleConfig(model="judge")}
    roles = roles_from(["respond=from-cli"], recipe)
    assert roles == {"respond": RoleConfig(model="from-cli"), "judge": RoleConfig(model="judge")}


def test_judge_serves_the_judging_stages_a_stages_own_role_does_not_claim() -> None:
    roles = {"judge": RoleConfig(model="j"), "equality": RoleConfig(model="e")}
    resolved = {r.name: r for r in resolve_roles(roles, STAGES, {}, build_urls=("http://h/v1",),
                                                 build_identity="h", build_key="k")}
    assert resolved["judge"].stages == ("difficulty",)
    assert resolved["equality"].stages == ("equality",)
    assert resolved["judge"].identity == "h" and resolved["judge"].api_key == "k"


def test_an_unknown_role_names_the_valid_ones_and_a_missing_key_variable_names_it() -> None:
    with pytest.raises(UsageError, match="valid roles: difficulty, equality, evolve, respond, judge"):
        resolve_roles({"answer": RoleConfig(model="m")}, STAGES, {}, build_urls=(), build_identity="offline",
                      build_key=None)
    with pytest.raises(UsageError, match="JUDGE_KEY"):
        resolve_roles({"judge": RoleConfig(model="m", api_key_env="JUDGE_KEY")}, STAGES, {}, build_urls=(),
                      build_identity="offline", build_key=None)
    resolved = resolve_roles({"judge": RoleConfig(model="m", api_key_env="JUDGE_KEY")}, STAGES,
                             {"JUDGE_KEY": "sk-judge"}, build_urls=(), build_identity="offline", build_key=None)
    assert resolved[0].api_key == "sk-judge"


def test_a_recipes_role_tables_are_checked_naming_the_table(tmp_path: Path) -> None:
    recipe = tmp_path / "run.toml"
    recipe.write_text('[roles.respond]\nmodel = "big"\ntemperature = 7\n', encoding="utf-8")
    with pytest.raises(UsageError, match=r"\[roles.respond\] temperature"):
        make_config({**read_recipe(recipe), "seeds": "s.jsonl", "out": "o"})
    recipe.write_text('[roles.respond]\nmodel = "big"\nbase-url = ["http://127.0.0.1:9/v1"]\nmax-tokens = 64\n',
                      encoding="utf-8")
    config = make_config({**read_recipe(recipe), "seeds": "s.jsonl", "out": "o"})
    assert config.all_roles["respond"].max_tokens == 64
    assert config.all_roles["respond"].decoding(Decoding(1.0, 0.9, 2048)) == Decoding(1.0, 0.9, 64)
    with pytest.raises(UsageError, match="--role"):
        make_config({"seeds": "s.jsonl", "out": "o", "role": ["respond"]})


def test_each_stage_reaches_its_roles_server_through_the_run_context(tmp_path: Path) -> None:
    with LoopbackLLM() as base, LoopbackLLM() as judge:
        endpoint = EndpointConfig((base.base_url,), "base", "base", "k")
        role = EndpointConfig((judge.base_url,), "judge-model", "judge", "k")
        with Session.open(endpoint, tmp_path / "cache.sqlite", roles={"judge": (role, ("equality",))}) as session:
            run = session.run_context(
                _Domain(), seed=3, decoding=Decoding(1.0, 0.9, 256), role_decoding={"judge": Decoding(0.0, 1.0, 8)},
            )

            async def ask() -> None:
                ctx = run.for_sample("s1")
                await ctx.chat([{"role": "user", "content": "rewrite this"}], stage="evolve")
                await ctx.chat([{"role": "user", "content": "are these equal"}], stage="equality")
                await session.aclose()

            asyncio.run(ask())
        assert [r.body["model"] for r in base.requests] == ["base"]
        assert [r.body["model"] for r in judge.requests] == ["judge-model"]
        assert judge.requests[0].body["max_tokens"] == 8 and base.requests[0].body["max_tokens"] == 256


class _Domain:
    name = "general"
    description = "test"


def test_the_live_display_counts_every_roles_client_and_shows_the_cost(tmp_path: Path) -> None:
    from rich.console import Console

    from evolinstruct.app.build.progress import live_table
    from evolinstruct.runtime.cache import Cache
    from evolinstruct.runtime.engine import Progress
    from evolinstruct.runtime.llm import LLM

    import contextlib

    with contextlib.closing(Cache(tmp_path / "cache.sqlite")) as cache:
        base, judge = (LLM(model=m, base_url="http://127.0.0.1:9/v1", api_key="k", cache=cache) for m in ("a", "b"))
        base.stats.sent, judge.stats.sent, judge.stats.cached = 3, 4, 2
        table = live_table(Progress(seeds=1, rounds=1), base, [judge], lambda: " · $1.25 of $5")
        console = Console(width=200, record=True)
        console.print(table)
        text = " ".join(console.export_text().split())  # the caption wraps at the table's width
    assert "sent 7 · from cache 2" in text and "$1.25 of $5" in text


def test_the_draw_of_a_model_is_stable_and_gives_a_parents_candidates_different_models() -> None:
    from evolinstruct.types.context import model_draw

    plain = [model_draw(7, "evolve", f"s{i}/r1", f"s{i}", None, 2) for i in range(40)]
    assert plain == [model_draw(7, "evolve", f"s{i}/r1", f"s{i}", None, 2) for i in range(40)]
    assert set(plain) == {0, 1}  # both models are drawn
    for parent in (f"s{i}/r1" for i in range(20)):
        # K candidates over K models: each model once; over fewer models, in turn.
        assert sorted(model_draw(7, "evolve", f"{parent}c{k}", parent, k, 3) for k in range(3)) == [0, 1, 2]
        drawn = [model_draw(7, "evolve", f"{parent}c{k}", parent, k, 2) for k in range(4)]
        assert drawn[:2] == drawn[2:] and sorted(drawn[:2]) == [0, 1]


def test_a_role_of_several_models_has_a_client_per_model_and_no_one_client_for_its_stage(tmp_path: Path) -> None:
    from evolinstruct.runtime.cache import Cache

    cache = Cache(tmp_path / "cache.sqlite")
    default = EndpointConfig(("http://127.0.0.1:9/v1",), "main", "main")
    writers = tuple(EndpointConfig(("http://127.0.0.1:9/v1",), model, "pool") for model in ("model-a", "model-b"))
    session = Session(default, cache, roles={"evolve": (writers, ("evolve",))})
    with pytest.raises(ValueError, match="stage evolve is served by several models"):
        session.llm_for("evolve")
    run = session.run_context(domain=None, seed=3)  # type: ignore[arg-type]
    assert "evolve" not in run.stage_llms
    assert [(choice.model, choice.endpoint) for choice in run.stage_models["evolve"]] == [("model-a", "pool"),
                                                                                          ("model-b", "pool")]
    numbers = session.role_numbers()
    assert {name: (entry["role"], entry["model"], entry["stages"]) for name, entry in numbers.items()
            if name != "default"} == {"evolve[model-a]": ("evolve", "model-a", ["evolve"]),
                                      "evolve[model-b]": ("evolve", "model-b", ["evolve"])}
    session.close()
    cache.close()
