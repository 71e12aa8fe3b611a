"""How cassettes match and what they hide: shared by the tests and by processes started from them."""

from __future__ import annotations

import json
from typing import Any

SECRET_HEADERS = [
    "authorization",
    "api-key",
    "x-api-key",
    "openai-organization",
    "openai-project",
    "anthropic-api-key",
    "cookie",
    "set-cookie",
]
MATCH_ON = ["method", "scheme", "host", "port", "path", "llm_body"]


def llm_body_matcher(r1: Any, r2: Any) -> None:
    """Requests match when they ask the same thing: messages, response format, sampling."""

    def key(request: Any) -> Any:
        try:
            body = json.loads(request.body or b"{}")
        except (ValueError, TypeError):
            return request.body
        return {k: body.get(k) for k in ("messages", "response_format", "temperature", "max_tokens", "input")}

    assert key(r1) == key(r2), "request body differs from the recorded one"
