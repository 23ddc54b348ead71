"""Where a driver's Ray token comes from, in the order Ray documents, and when the driver uses it."""

from __future__ import annotations

from pathlib import Path

from evolinstruct.app.cluster.ray_auth import token_source, use_available_token


def home_with_token(tmp_path: Path, token: str = "from-the-file") -> Path:
    (tmp_path / ".ray").mkdir()
    (tmp_path / ".ray" / "auth_token").write_text(token, encoding="utf-8")
    return tmp_path


def test_the_variable_comes_first_then_the_path_then_the_default_file(tmp_path: Path) -> None:
    home = str(home_with_token(tmp_path))
    named = tmp_path / "named"
    named.write_text("from-the-path", encoding="utf-8")
    assert token_source({"HOME": home, "RAY_AUTH_TOKEN": "t", "RAY_AUTH_TOKEN_PATH": str(named)}) == "RAY_AUTH_TOKEN"
    assert token_source({"HOME": home, "RAY_AUTH_TOKEN_PATH": str(named)}) == f"RAY_AUTH_TOKEN_PATH ({named})"
    assert token_source({"HOME": home}) == str(tmp_path / ".ray" / "auth_token")
    assert token_source({"HOME": home, "RAY_AUTH_TOKEN": "  "}) == str(tmp_path / ".ray" / "auth_token")


def test_no_token_anywhere_is_none(tmp_path: Path) -> None:
    assert token_source({"HOME": str(tmp_path)}) is None
    empty = home_with_token(tmp_path, token="\n")
    assert token_source({"HOME": str(empty)}) is None


def test_a_token_turns_token_mode_on_unless_a_mode_was_chosen(tmp_path: Path) -> None:
    home = str(home_with_token(tmp_path))
    environ = {"HOME": home}
    assert use_available_token(environ) == str(tmp_path / ".ray" / "auth_token")
    assert environ["RAY_AUTH_MODE"] == "token"
    chosen = {"HOME": home, "RAY_AUTH_MODE": "disabled"}
    assert use_available_token(chosen) is None and chosen["RAY_AUTH_MODE"] == "disabled"
    nothing = {"HOME": str(tmp_path / "elsewhere")}
    assert use_available_token(nothing) is None and "RAY_AUTH_MODE" not in nothing
