"""The one error type of the Jira emulator, shaped like Jira's own error bodies.

REST handlers turn it into `{"errorMessages": [...], "errors": {...}}` with its status; `JiraUser`
raises it directly, so a test sees the same message a REST client would.
"""

from __future__ import annotations

from typing import Any


class JiraEmulatorError(Exception):
    """A refusal Jira would answer with `status` and its usual error body."""

    def __init__(
        self, status: int, messages: list[str] | None = None, errors: dict[str, str] | None = None
    ) -> None:
        self.status = status
        self.messages = list(messages or [])
        self.errors = dict(errors or {})
        super().__init__(
            f"{status}: {'; '.join(self.messages + [f'{k}: {v}' for k, v in self.errors.items()])}"
        )

    def body(self) -> dict[str, Any]:
        """The JSON body Jira sends with this error."""
        return {"errorMessages": self.messages, "errors": self.errors}


def not_found_issue() -> JiraEmulatorError:
    """Jira's answer for an unknown issue key or id (it never says which)."""
    return JiraEmulatorError(404, ["Issue does not exist or you do not have permission to see it."])
