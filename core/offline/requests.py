"""What the loopback server receives: a chat request as a responder sees it, and as it is logged."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ChatRequest:
    """What a responder sees of one chat-completion request, for one choice of its ``n``."""

    model: str
    messages: tuple[dict[str, Any], ...]
    seed: int | None
    temperature: float | None
    top_p: float | None
    max_tokens: int | None
    n: int
    key: str  # stable hash of the whole request body
    choice: int = 0  # which of the n choices is being written (0-based)
    response_format: dict[str, Any] | None = None  # structured output asked for, as sent

    @property
    def last_user_message(self) -> str:
        for message in reversed(self.messages):
            if message.get("role") == "user":
                return message_text(message)
        return ""


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received and answered it."""

    number: int  # 1-based, over every chat-completion request this server received
    body: dict[str, Any]
    key: str
    status: int
    rule: int | None  # index of the rule applied, None when the responder answered

    @property
    def last_user_message(self) -> str:
        messages = self.body.get("messages")
        if isinstance(messages, list):
            for message in reversed(messages):
                if isinstance(message, dict) and message.get("role") == "user":
                    return message_text(message)
        return ""


Responder = Callable[[ChatRequest], str]


def message_text(message: dict[str, Any]) -> str:
    """The text of a message whose content is a string or a list of content parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            part.get("text", "") for part in content if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""
