"""Plumbing shared by the Web API method modules: the error type, typed parameter access, a registry.

Each `api_*` module registers plain functions `(state, params) -> dict` under their Slack method name, so
the HTTP layer only has to parse, authenticate and dispatch; the methods never see HTTP.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.slack.state import SlackState


class ApiError(Exception):
    """A Slack `{"ok": false, "error": ...}` answer; `extra` is merged into the response body."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


JSON_PARAMS = frozenset({"blocks", "attachments", "view", "metadata", "bookmark"})


class Params:
    """The merged query/form/JSON parameters of one call, with the coercions Slack applies."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    def has(self, name: str) -> bool:
        return self.raw.get(name) not in (None, "")

    def text(self, name: str, default: str = "") -> str:
        value = self.raw.get(name)
        return default if value is None else str(value)

    def required(self, name: str, error: str = "invalid_arguments") -> str:
        """A non-empty string parameter; Slack answers a method-specific error when it is missing."""
        value = self.text(name).strip()
        if not value:
            raise ApiError(error)
        return value

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.raw.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in ("1", "true", "yes")

    def number(self, name: str, default: int) -> int:
        try:
            return int(self.raw.get(name, default))
        except (TypeError, ValueError):
            raise ApiError("invalid_arguments") from None

    def ids(self, name: str) -> list[str]:
        """Comma-separated ids (the form the WebClient sends lists in) or a JSON list."""
        value = self.raw.get(name)
        if value is None:
            return []
        items = value if isinstance(value, list) else str(value).split(",")
        return [str(item).strip() for item in items if str(item).strip()]

    def structured(self, name: str) -> Any:
        """A structured parameter: already decoded from a JSON body, or a JSON string in a form body."""
        value = self.raw.get(name)
        if isinstance(value, str):
            try:
                return json.loads(value) if value.strip() else None
            except ValueError:
                raise ApiError(f"invalid_{name}") from None
        return value


Handler = Callable[["SlackState", Params], dict[str, Any]]


class Registry(dict[str, Handler]):
    """Method name -> handler; `@registry("chat.postMessage")` adds one."""

    def __call__(self, name: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self[name] = handler
            return handler

        return register


def paginate(items: list[Any], params: Params, default_limit: int = 100) -> tuple[list[Any], dict[str, str]]:
    """Slack cursor pagination: `limit` (0 = default; default 0 = all) + opaque `cursor`; last page has ""."""
    limit = max(1, params.number("limit", 0) or default_limit or len(items))
    cursor = params.text("cursor")
    try:
        start = int(cursor.removeprefix("offset:")) if cursor else 0
    except ValueError:
        raise ApiError("invalid_cursor") from None
    end = start + limit
    next_cursor = f"offset:{end}" if end < len(items) else ""
    return items[start:end], {"next_cursor": next_cursor}
