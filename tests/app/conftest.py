"""A small general build made with the real CLI against the loopback LLM, and Debian's Chromium.

The build's script makes every kind of row the report shows: the equality judge finds no gain for
every rewrite of the lighthouse seed and for a share of the others (eliminated by ``equality``),
the sky seed's first two rewrites copy the evolving prompt (``template-leak``), and every rewrite
request of the bicycle seed fails (a ``failed`` row at round 1, its later rounds skipped).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from evolinstruct.testing import LoopbackLLM, Rule
from tests.conftest import EXAMPLES, evol

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SEEDS = EXAMPLES / "seeds" / "general.jsonl"

BUILD_RULES = (
    Rule(pattern=r"Not Equal[\s\S]*lighthouse keeper|lighthouse keeper[\s\S]*Not Equal", reply="Equal"),
    Rule(contains="Not Equal", reply="Equal", probability=0.3),
    Rule(pattern=r"#Original Instruction#[\s\S]*sky looks blue", reply="Explain the sky, as the given prompt asks.", times=2),
    Rule(pattern=r"#Original Instruction#[\s\S]*bicycle", status=500),
)


def build_general(out: Path, *extra: str) -> Path:
    with LoopbackLLM(rules=BUILD_RULES) as server:
        result = evol(
            "build", "--seeds", str(SEEDS), "--out", str(out), "--model", "loopback-model",
            "--max-attempts", "1", "--no-progress", *extra,
            env={"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-loopback"},
        )
    assert result.returncode == 3, result.stderr  # 3: some samples failed, as scripted
    return out


@pytest.fixture(scope="module")
def general_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_general(tmp_path_factory.mktemp("general") / "out")


def read_rows(folder: Path, name: str) -> list[dict[str, Any]]:
    path = folder / name
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def json_block(page_html: str, element_id: str) -> Any:
    """A ``<script type="application/json">`` block of the page, decoded."""
    found = re.search(rf'<script type="application/json" id="{element_id}">(.*?)</script>', page_html, re.S)
    assert found, f"no {element_id} block in the page"
    return json.loads(found.group(1))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (scripts/setup.sh does: apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class OpenedPage:
    page: Any
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


def open_page(browser: Any, path: Path) -> OpenedPage:
    """The page opened from disk in an offline browser context, with its console errors, uncaught
    exceptions and every request it made recorded; waits until every chart has drawn its SVG."""
    context = browser.new_context(offline=True, viewport={"width": 1300, "height": 900})
    page = context.new_page()
    opened = OpenedPage(page)
    page.on("console", lambda message: opened.errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: opened.errors.append(f"uncaught: {error}"))
    page.on("requestfailed", lambda request: opened.errors.append(f"request failed: {request.url}"))
    page.on("request", lambda request: opened.requests.append(request.url))
    page.goto(path.resolve().as_uri())
    page.wait_for_function(
        "document.querySelectorAll('.chart').length > 0 && "
        "[...document.querySelectorAll('.chart')].every(chart => chart.querySelector('svg.main-svg'))",
        timeout=20_000,
    )
    return opened
