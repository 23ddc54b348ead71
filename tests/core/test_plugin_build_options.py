"""Build options a plugin adds to domains (``evol_build_options``, ``ExtraOptions``) and an
operation whose prompt is bound to them (``Operation(bind=...)``): a small distribution on
PYTHONPATH, the real ``evol`` command, and the loopback server seeing the prompts."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import evol
from tests.core.test_plugins import make_distribution

TONE_PLUGIN = """
    from typing import Literal
    from evolinstruct import DomainOptions, ExtraOperation, ExtraOptions, Operation, hookimpl

    class ToneOptions(DomainOptions):
        tone: Literal["plain", "formal", "casual"] = "plain"
        \"\"\"tone: the register operation retone asks for.\"\"\"

    def prompt_for(tone):
        def prompt(sample, rng):
            return ({"role": "user", "content": f"Rewrite in a {tone} register (TONE-{tone}): {sample.instruction}"},)
        return prompt

    @hookimpl
    def evol_build_options():
        yield ExtraOptions("tone", ToneOptions{domains})

    @hookimpl
    def evol_operations():
        yield ExtraOperation("general", Operation("retone", prompt_for("plain"), weight=0.0,
                                                  bind=lambda options: prompt_for(options.tone)))
"""


def install(root: Path, domains: str = "") -> dict[str, str]:
    make_distribution(root, "tone-dist", "tone_plugin", TONE_PLUGIN.replace("{domains}", domains))
    return {"PYTHONPATH": str(root)}


def test_a_plugin_option_is_a_build_option_bound_into_the_prompt_and_recorded(tmp_path, loopback_llm_factory) -> None:
    env = install(tmp_path)
    assert "--tone [plain|formal|casual]" in evol("build", "--help", env=env).stdout
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text("".join(json.dumps({"instruction": f"Describe item {n}."}) + "\n" for n in range(3)))
    server = loopback_llm_factory([])
    env |= {"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-loopback"}
    out = tmp_path / "out"
    args = ["build", "--seeds", str(seeds), "--out", str(out), "--schedule", "retone", "--operation-weights", "retone=1"]
    bad = evol(*args, "--tone", "shouting", env=env)
    assert bad.returncode == 2 and "--tone (from the command line): Input should be 'plain', 'formal' or 'casual'" in bad.stderr, bad.stderr
    assert not out.exists() and not server.requests
    result = evol(*args, "--tone", "formal", env=env)
    assert result.returncode == 0, result.stderr
    evolve = [r.last_user_message for r in server.requests if r.last_user_message.startswith("Rewrite in a ")]
    assert len(evolve) == 3 and all("TONE-formal" in text for text in evolve)
    assert json.loads((out / "run.json").read_text())["state"]["options"]["tone"] == "formal"
    again = evol(*args, "--tone", "casual", env=env)
    assert again.returncode == 2 and "--tone was 'formal', now 'casual'" in again.stderr, again.stderr
    # Another domain has the option too (domains=None), checked by the same model.
    math = evol("build", "--domain", "math", "--seeds", str(seeds), "--out", str(tmp_path / "m"), "--tone", "loud", env=env)
    assert math.returncode == 2 and "--tone (from the command line): Input should be" in math.stderr, math.stderr


def test_an_option_limited_to_some_domains_is_refused_elsewhere(tmp_path) -> None:
    env = install(tmp_path, domains=', domains=("general",)')
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text(json.dumps({"question": "What is 2 + 2?", "answer": "4"}) + "\n")
    result = evol("build", "--domain", "math", "--seeds", str(seeds), "--out", str(tmp_path / "m"), "--tone", "formal",
                  env=env)
    assert result.returncode == 2 and "--tone is an option of domain 'general', not of 'math'" in result.stderr, result.stderr


def test_a_plugin_option_cannot_take_a_domain_option_name(tmp_path) -> None:
    source = TONE_PLUGIN.replace("{domains}", "").replace("tone: Literal", "samples: Literal")
    make_distribution(tmp_path, "tone-dist", "tone_plugin", source.replace("options.tone", "options.samples"))
    result = evol("domains", "list", env={"PYTHONPATH": str(tmp_path)})
    assert result.returncode != 0
    assert "build option --samples is declared by domain 'math' and by plugin 'tone_plugin'" in result.stderr
