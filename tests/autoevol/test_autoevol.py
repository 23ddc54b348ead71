"""The Auto Evol-Instruct plugin (plugins/autoevol), installed as a real distribution and driven
through the real CLI against the loopback server's scripted model."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from importlib import metadata
from pathlib import Path

import pytest

from evolinstruct.testing import Rule
from tests.conftest import evol

TOPICS = ("sorting a list", "binary search", "the water cycle", "photosynthesis", "the French revolution",
          "prime numbers", "recursion", "compound interest", "the moon landing", "tides")

GOOD = """\
Step 1: Read the instruction and name one requirement that would make it harder. MARK-GOOD
Step 2: Add that requirement in one sentence, keeping every requirement the instruction had.
Step 3: Check that the result is still a question a person would ask, then reply with it alone.

Instruction:
{instruction}
"""
WORSE = GOOD.replace("MARK-GOOD", "MARK-WORSE")
NO_PLACEHOLDER = GOOD.replace("{instruction}", "the instruction")
NOT_A_METHOD = "I think the method is fine as it is. {instruction}"
ISSUES = "- some rewrites were refusals\n- one instruction gained noise"


def rules(*extra: Rule) -> list[Rule]:
    return [
        *extra,
        Rule(contains="Not Equal", reply="Not Equal"),  # the equality judge: every rewrite differs
        Rule(contains="evolution trajectories", reply=ISSUES),
        # Step 2's optimizer request quotes the method chosen in step 1 (MARK-GOOD).
        Rule(pattern=r"(?s)MARK-GOOD.*Candidate 1 of", reply=WORSE),
        Rule(pattern=r"(?s)MARK-GOOD.*Candidate 2 of", reply=NOT_A_METHOD),
        Rule(contains="Candidate 1 of", reply=f"```\n{GOOD}```"),
        Rule(contains="Candidate 2 of", reply=NO_PLACEHOLDER),
        # Evolving: the initial method refuses two of the three dev seeds, MARK-WORSE every seed;
        # MARK-GOOD gets the offline model's text, which no rule eliminates.
        Rule(pattern=r"(?s)four steps in your head.*Explain (sorting a list|binary search)", reply="Sorry, I can't."),
        Rule(contains="MARK-WORSE", reply="Sorry, I can't."),
    ]


@pytest.fixture(autouse=True)
def autoevol_installed() -> None:
    try:
        metadata.distribution("evol-autoevol")
    except metadata.PackageNotFoundError:
        pytest.fail("the autoevol plugin is not installed: pip install ./plugins/autoevol (scripts/setup.sh does it)")


@pytest.fixture
def seeds(tmp_path: Path) -> Path:
    path = tmp_path / "seeds.jsonl"
    path.write_text("".join(json.dumps({"id": f"s{n}", "instruction": f"Explain {topic} briefly."}) + "\n"
                            for n, topic in enumerate(TOPICS)))
    return path


def optimize_args(seeds: Path, out: Path) -> list[str]:
    return ["method", "optimize", "--seeds", str(seeds), "--out", str(out), "--steps", "2", "--batch", "2",
            "--candidates", "2", "--dev", "3", "--evolve-rounds", "2"]


def env_for(server) -> dict[str, str]:
    return {"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-loopback"}


def test_the_plugin_is_found_by_its_entry_point() -> None:
    plugins = json.loads(evol("plugins", "list", "--json").stdout)
    autoevol = next(p for p in plugins if p["name"] == "autoevol")
    assert (autoevol["distribution"], autoevol["status"]) == ("evol-autoevol", "active")
    domains = json.loads(evol("domains", "list", "--json").stdout)
    general = next(d for d in domains if d["name"] == "general")
    assert "auto" in [op["name"] for op in general["operations"]]
    assert "optimize" in evol("method", "--help").stdout


def test_two_steps_record_the_history_and_keep_the_better_method(tmp_path, seeds, loopback_llm_factory) -> None:
    server = loopback_llm_factory(rules())
    out = tmp_path / "method"
    result = evol(*optimize_args(seeds, out), env=env_for(server))
    assert result.returncode == 0, result.stderr
    document = json.loads((out / "method.json").read_text())
    assert document["method"] == GOOD and document["chosen"] == "step 1 candidate 1"
    first, second = document["history"]
    # the trajectories: each batch seed from round 0 through two rounds, refusals marked
    assert [t["seed_id"] for t in first["trajectories"]] == ["s3", "s4"]
    assert all([s["round"] for s in t["steps"]] == [0, 1, 2] for t in first["trajectories"])
    assert first["issues"] == ISSUES
    # step 1: the valid candidate halves nothing, it removes every failure; the other lost {instruction}
    good, lost = first["candidates"]
    assert good["valid"] and good["method"] == GOOD and good["dev"]["failure_rate"] == 0.0
    assert good["dev"]["evolved"] == 3
    assert (lost["valid"], lost["reason"]) == (False, "the method lost the instruction placeholder {instruction}")
    assert "method" not in lost and "dev" not in lost
    assert (first["chosen"], first["dev_failure_rate"]) == (1, 0.0)
    # step 2: a worse candidate (every dev rewrite refused) is measured and not kept
    worse, not_method = second["candidates"]
    assert worse["dev"] == {"evolved": 3, "eliminated": 3, "failed": 0, "failure_rate": 1.0}
    assert not_method["valid"] is False and not_method["reason"].startswith("not a method")
    assert (second["chosen"], second["method"], second["dev_failure_rate"]) == (None, "step 1 candidate 1", 0.0)
    # the initial method's dev failure rate, measured by the elimination rules (refusals)
    assert document["initial"]["dev"] == {"evolved": 3, "eliminated": 2, "failed": 0, "failure_rate": 0.6667}
    initial = [json.loads(line) for line in (out / "initial-dev" / "eliminated.jsonl").read_text().splitlines()]
    assert sorted(row["seed_id"] for row in initial) == ["s0", "s1"]
    # the optimizer's stages are stages of their own (so a role can give them another model)
    analyze = json.loads((out / "step-1" / "analyze" / "dataset.jsonl").read_text().splitlines()[0])
    assert set(analyze["usage"]) == {"analyze"}
    # a build with the chosen method: its report shows the history, step by step
    build = tmp_path / "build"
    assert evol("build", "--seeds", str(seeds), "--out", str(build), "--schedule", "auto", "--limit", "1",
                "--operation-weights", "auto=1", "--method", str(out / "method.json"), env=env_for(server)
                ).returncode == 0
    assert evol("report", str(build)).returncode == 0
    page = (build / "report.html").read_text()
    assert "<td>1</td><td>step 1 candidate 1</td><td>0.0%</td><td>1</td>" in page
    assert "<td>2</td><td>step 1 candidate 1</td><td>0.0%</td><td>1</td>" in page
    # the dataset card shows the history too: per step, the candidate chosen and its dev failure rate
    card = (build / "README.md").read_text()
    assert "## Evolving method (autoevol)" in card and f"### `{out / 'method.json'}`" in card
    assert "Initial method's dev failure rate: 66.7%." in card
    assert "| 1 | 2 | 1 | candidate 1 | 0.0% |" in card
    assert "| 2 | 2 | 1 | none (kept step 1 candidate 1) | 0.0% |" in card
    assert "```\n" + GOOD + "```" in card
    # a build whose rows no method wrote has no such part
    assert "Evolving method" not in (out / "step-1" / "analyze" / "README.md").read_text()


def test_a_rerun_after_sigkill_resends_nothing_it_received(tmp_path, seeds, loopback_llm_factory) -> None:
    # Step 2's analysis hangs once (its trajectories quote the prime numbers seed): the
    # command is killed while it waits, with everything before it received.
    server = loopback_llm_factory(rules(Rule(pattern=r"(?s)evolution trajectories.*prime numbers", hang=120, times=1)))
    out = tmp_path / "method"
    environ = {**{k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "EVOL_"))}, **env_for(server)}
    process = subprocess.Popen([sys.executable, "-m", "evolinstruct", *optimize_args(seeds, out)], env=environ,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 240
        while not (out / "step-2" / "analyze.seeds.jsonl").exists():
            assert time.monotonic() < deadline and process.poll() is None, "the optimization never reached step 2"
            time.sleep(0.2)
        time.sleep(2)  # the analysis request is on its way and hangs
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    # What the first run received: every request but the hung one, whose answer never came.
    received = [r.key for r in server.requests if r.rule != 0]
    before = server.request_count
    assert received and not (out / "method.json").exists()
    result = evol(*optimize_args(seeds, out), env=env_for(server))
    assert result.returncode == 0, result.stderr
    sent_again = [r.key for r in server.requests if r.number > before]
    # An uninterrupted run sends exactly what the two runs sent together: the rerun asked only
    # for what the first one had not received (the dev seeds' answers are asked once per dev
    # build, in the clean run as well).
    clean = loopback_llm_factory(rules())
    assert evol(*optimize_args(seeds, tmp_path / "clean"), env=env_for(clean)).returncode == 0
    assert Counter(received) + Counter(sent_again) == Counter(r.key for r in clean.requests)
    assert len(sent_again) < len(clean.requests) / 2
    assert json.loads((out / "method.json").read_text())["history"] == json.loads(
        (tmp_path / "clean" / "method.json").read_text())["history"]


def test_the_optimizer_stages_can_have_their_own_model(tmp_path, seeds, loopback_llm_factory) -> None:
    server, optimizer = loopback_llm_factory(rules()), loopback_llm_factory(rules())
    out = tmp_path / "method"
    result = evol("method", "optimize", "--seeds", str(seeds), "--out", str(out), "--steps", "1", "--batch", "1",
                  "--candidates", "1", "--dev", "1", "--evolve-rounds", "1",
                  "--role", f"optimize=strong-model@{optimizer.base_url}", "--role", f"analyze=strong-model@{optimizer.base_url}",
                  env=env_for(server))
    assert result.returncode == 0, result.stderr
    asked = [r.last_user_message for r in optimizer.requests]
    assert len(asked) == 2 and "evolution trajectories" in asked[0] and "Candidate 1 of 1" in asked[1]
    assert {r.body["model"] for r in optimizer.requests} == {"strong-model"}
    assert not any("evolution trajectories" in r.last_user_message for r in server.requests)


def test_a_build_with_the_method_names_it_on_every_evolved_row(tmp_path, seeds, loopback_llm_factory) -> None:
    # The tides seed's rewrites are refused: its eliminated rows name the method too.
    server = loopback_llm_factory(rules(Rule(pattern=r"(?s)MARK-GOOD.*Explain tides", reply="Sorry, I can't.")))
    method = tmp_path / "method.json"
    method.write_text(json.dumps({"method": GOOD}))
    out = tmp_path / "build"
    result = evol("build", "--seeds", str(seeds), "--out", str(out), "--schedule", "auto,auto",
                  "--operation-weights", "auto=1", "--method", str(method), env=env_for(server))
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in (out / "dataset.jsonl").read_text().splitlines()]
    evolved = [row for row in rows if row["round"] > 0]
    assert len(evolved) == 2 * (len(TOPICS) - 1)
    import hashlib
    digest = "sha256:" + hashlib.sha256(GOOD.encode()).hexdigest()
    assert all(row["provenance"]["method"] == {"name": str(method), "digest": digest} for row in evolved)
    assert all(row["operation"] == "auto" for row in evolved)
    # a seed was not written by the method; the core's entries stay as they were
    assert all("method" not in row["provenance"] for row in rows if row["round"] == 0)
    assert all(row["provenance"]["endpoint"] == rows[0]["provenance"]["endpoint"] for row in rows)
    assert all("auto_method" not in row["checks"] for row in rows)
    eliminated = [json.loads(line) for line in (out / "eliminated.jsonl").read_text().splitlines()]
    assert len(eliminated) == 2 and all(row["provenance"]["method"]["digest"] == digest for row in eliminated)
    assert any("MARK-GOOD" in r.last_user_message for r in server.requests)
    # the report names the method and shows its text
    assert evol("report", str(out)).returncode == 0
    page = (out / "report.html").read_text()
    assert 'id="auto-method"' in page or "auto-method" in page
    assert "Step 1: Read the instruction and name one requirement" in page and digest in page
    assert "Step 1: Read the instruction and name one requirement" in (out / "README.md").read_text()
    # A method file edited after the build is not the rows' method: neither page shows its text.
    method.write_text(json.dumps({"method": GOOD.replace("one requirement", "two requirements")}))
    assert evol("report", str(out)).returncode == 0
    for shown in ((out / "report.html").read_text(), (out / "README.md").read_text()):
        assert "has changed since these rows were evolved" in shown and "two requirements" not in shown


def test_an_invalid_method_file_is_a_clear_error(tmp_path, seeds) -> None:
    method = tmp_path / "method.json"
    method.write_text(json.dumps({"method": NO_PLACEHOLDER}))
    result = evol("build", "--seeds", str(seeds), "--out", str(tmp_path / "b"), "--schedule", "auto",
                  "--operation-weights", "auto=1", "--method", str(method))
    assert result.returncode == 2, result.stderr
    assert f"--method (from the command line): {method}: field 'method': the method lost the instruction placeholder" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "b").exists()
    method.write_text('{"method": "Step 1:\n')
    result = evol("build", "--seeds", str(seeds), "--out", str(tmp_path / "b"), "--method", str(method))
    assert result.returncode == 2 and f"--method (from the command line): {method}: line 1: not JSON" in result.stderr, result.stderr


def test_the_method_is_a_build_option_recorded_in_the_folder(tmp_path, seeds) -> None:
    assert "--method PATH" in evol("build", "--help").stdout
    method = tmp_path / "method.json"
    method.write_text(json.dumps({"method": GOOD}))
    out = tmp_path / "build"
    args = ["build", "--seeds", str(seeds), "--out", str(out), "--schedule", "auto", "--limit", "2",
            "--operation-weights", "auto=1", "--method", str(method)]
    assert evol(*args).returncode == 0
    import hashlib
    recorded = json.loads((out / "run.json").read_text())["state"]["options"]
    assert recorded == {"method": str(method), "method_sha256": "sha256:" + hashlib.sha256(GOOD.encode()).hexdigest()}
    assert evol(*args).returncode == 0  # the same method resumes
    # An edited method is another method: the folder refuses it, naming what changed.
    method.write_text(json.dumps({"method": GOOD.replace("one requirement", "two requirements")}))
    result = evol(*args)
    assert result.returncode == 2 and "--method-sha256 was 'sha256:" in result.stderr, result.stderr
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"method": GOOD}))
    result = evol(*args[:-1], str(other))
    assert result.returncode == 2 and f"--method was '{method}', now '{other}'" in result.stderr, result.stderr
    # Without --method: the initial method, and the card says it was not optimized.
    initial = tmp_path / "initial"
    assert evol("build", "--seeds", str(seeds), "--out", str(initial), "--schedule", "auto", "--limit", "1",
                "--operation-weights", "auto=1").returncode == 0
    [evolved] = [json.loads(line) for line in (initial / "dataset.jsonl").read_text().splitlines()][1:]
    assert evolved["provenance"]["method"]["name"] == "initial"
    assert "1 evolved row; digest" in (initial / "README.md").read_text()
    assert "The universal initial method, not optimized" in (initial / "README.md").read_text()
    # From Python, the same option by its name.
    import evolinstruct
    summary = evolinstruct.build(seeds=str(seeds), out=str(tmp_path / "api"), schedule=["auto"], limit=1,
                                 operation_weights={"auto": 1.0}, method=str(other))
    assert summary.status == "complete"
    assert json.loads((tmp_path / "api" / "run.json").read_text())["state"]["options"]["method"] == str(other)


MATH_SEEDS = (
    {"question": "A farmer has 3 pens with 12 sheep each. How many sheep does he have?",
     "answer": "3 * 12 = <<3*12=36>>36 sheep.\n#### 36"},
    {"question": "Tom buys 5 pencils at 2 dollars each. How much does he pay?",
     "answer": "5 * 2 = <<5*2=10>>10 dollars.\n#### 10"},
)
MATH_PROBLEM = "A shop packs 4 boxes of 6 pens and adds 5 loose pens. How many pens does it have in all?"


def test_auto_evolves_math_with_the_math_domains_checks(tmp_path, loopback_llm_factory) -> None:
    # The method's rewrite of a math question is a new problem; its solution is checked by the
    # math domain as any evolved problem's is (the answer extracted, agreed by the samples).
    server = loopback_llm_factory([
        Rule(contains="MARK-GOOD", reply=MATH_PROBLEM),
        Rule(pattern=r"(?s)Solve the following math problem.*loose pens",
             reply="4 * 6 = 24 pens are in the boxes.\n24 + 5 = 29 pens in all.\nThe answer is \\boxed{29}"),
    ])
    seeds = tmp_path / "math.jsonl"
    seeds.write_text("".join(json.dumps(seed) + "\n" for seed in MATH_SEEDS))
    method = tmp_path / "method.json"
    method.write_text(json.dumps({"method": GOOD}))
    out = tmp_path / "math"
    result = evol("build", "--domain", "math", "--seeds", str(seeds), "--out", str(out), "--schedule", "auto",
                  "--operation-weights", "auto=1", "--method", str(method), env=env_for(server))
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in (out / "dataset.jsonl").read_text().splitlines()]
    evolved = [row for row in rows if row["round"] == 1]
    assert len(evolved) == 2 and all(row["operation"] == "auto" and row["domain"] == "math" for row in evolved)
    assert all(row["instruction"] == MATH_PROBLEM and row["checks"]["consensus"]["answer"] == "29" for row in evolved)
    assert all(row["provenance"]["method"]["name"] == str(method) for row in evolved)
    # the method's prompt carried each seed's question where {instruction} stands
    asked = [r.last_user_message for r in server.requests if "MARK-GOOD" in r.last_user_message]
    assert sorted(text.split("Instruction:\n", 1)[1].strip() for text in asked) == sorted(s["question"] for s in MATH_SEEDS)


@pytest.mark.docker
def test_auto_evolves_code_checked_in_the_sandbox(tmp_path, loopback_llm_factory) -> None:
    from tests.wizardcoder.environment import require_docker, sandbox_env

    require_docker()
    # The offline model behind the scripted one answers the rewritten task with a function of
    # its own and writes its tests; the real sandbox runs them.
    server = loopback_llm_factory([])
    seeds = tmp_path / "code.jsonl"
    seeds.write_text(json.dumps({"text": "Write a function to reverse a string.",
                                 "code": "def reverse(text):\n    return text[::-1]\n",
                                 "test_list": ['assert reverse("ab") == "ba"', 'assert reverse("") == ""']}) + "\n")
    method = tmp_path / "method.json"
    method.write_text(json.dumps({"method": GOOD}))
    out = tmp_path / "code"
    result = evol("build", "--domain", "code", "--seeds", str(seeds), "--out", str(out), "--schedule", "auto,auto",
                  "--operation-weights", "auto=1", "--method", str(method), env={**env_for(server), **sandbox_env()})
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in (out / "dataset.jsonl").read_text().splitlines()]
    evolved = [row for row in rows if row["round"] > 0]
    assert len(evolved) == 2 and all(row["operation"] == "auto" and row["domain"] == "code" for row in evolved)
    assert all(row["checks"]["execution"]["verdict"] == "PASS" and row["checks"]["execution"]["tests_total"] > 0
               for row in evolved)
    assert all(row["checks"]["tests"]["origin"] == "generated" for row in evolved)
    assert all(row["provenance"]["method"]["name"] == str(method) for row in evolved)
    assert sum("MARK-GOOD" in r.last_user_message for r in server.requests) == 2


def test_auto_is_an_operation_of_every_domain_at_weight_zero() -> None:
    domains = {d["name"]: d for d in json.loads(evol("domains", "list", "--json").stdout)}
    # the built-in domains and a third party's (the example plugin, installed with the project)
    for name in ("general", "code", "math", "haiku"):
        auto = next(op for op in domains[name]["operations"] if op["name"] == "auto")
        assert auto["weight"] == 0.0 and auto["tags"] == ["auto"], auto


def test_the_optimization_reads_a_domains_own_seed_form(tmp_path, loopback_llm_factory) -> None:
    # GSM8K records (question, answer) for --domain math: read by the math domain, as evol build does.
    seeds = tmp_path / "gsm8k.jsonl"
    seeds.write_text("".join(json.dumps(seed) + "\n" for seed in MATH_SEEDS * 2))
    server = loopback_llm_factory(rules())
    out = tmp_path / "method"
    result = evol("method", "optimize", "--seeds", str(seeds), "--out", str(out), "--domain", "math", "--steps", "1",
                  "--batch", "1", "--candidates", "1", "--dev", "2", "--evolve-rounds", "1", env=env_for(server))
    assert result.returncode == 0, result.stderr
    document = json.loads((out / "method.json").read_text())
    assert document["domain"] == "math" and document["history"][0]["candidates"][0]["valid"]
    trajectory = document["history"][0]["trajectories"][0]
    assert trajectory["steps"][0]["instruction"] == MATH_SEEDS[0]["question"]
    # A record the math domain cannot read is named by the user's file, line and field; nothing is sent.
    seeds.write_text(json.dumps(MATH_SEEDS[0]) + "\n" + json.dumps({"answer": "#### 3"}) + "\n")
    before = server.request_count
    bad = evol("method", "optimize", "--seeds", str(seeds), "--out", str(tmp_path / "bad"), "--domain", "math",
               env=env_for(server))
    assert bad.returncode == 2 and str(seeds) in bad.stderr and "question" in bad.stderr, bad.stderr
    assert "Traceback" not in bad.stderr and server.request_count == before and not (tmp_path / "bad").exists()


def test_a_recipe_s_relative_method_path_is_read_from_the_recipe_s_folder(tmp_path, seeds) -> None:
    project = tmp_path / "project"
    (project / "method").mkdir(parents=True)
    (project / "method" / "method.json").write_text(json.dumps({"method": GOOD}))
    recipe = project / "run.toml"
    recipe.write_text(f'seeds = "{seeds}"\nout = "build"\nschedule = "auto"\nlimit = 1\n'
                      '[operation_weights]\nauto = 1\n[options]\nmethod = "method/method.json"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = evol("build", "--config", str(recipe), cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    recorded = json.loads((project / "build" / "run.json").read_text())["state"]["options"]
    assert recorded["method"] == str(project / "method" / "method.json")
