"""`JiraUser`: a person acting in Jira's UI, for tests of the Jira → Slack direction.

It goes through the same change functions as the REST API, so what it does leaves the changelog and
the webhook a real person's action would, authored by that person (not by the bot).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import issues
from .errors import JiraEmulatorError

if TYPE_CHECKING:
    from .emulator import JiraEmulator


class JiraUser:
    """Acts on the emulator's issues as `account_id` (which must be a known user)."""

    def __init__(self, emu: JiraEmulator, account_id: str) -> None:
        if account_id not in emu.state.users:
            raise ValueError(f"unknown Jira account {account_id!r}; add it with emu.add_user() first")
        self.emu = emu
        self.account_id = account_id

    def transition(self, key: str, status: str) -> dict[str, Any]:
        """Move an issue to `status` (case-insensitive) with one available transition; returns the history.

        A transition name is accepted too when no target status matches. Raises `JiraEmulatorError`
        (400) when no transition from the current status leads there, as Jira's UI would not offer it.
        """
        state = self.emu.state
        with state.lock:
            record = self.emu.issue(key)
            available = state.workflow_for(record).available(record["status"])
            chosen = next((t for t in available if t.to.lower() == status.lower()), None)
            chosen = chosen or next((t for t in available if t.name.lower() == status.lower()), None)
            if chosen is None:
                offered = ", ".join(f"{t.name} -> {t.to}" for t in available) or "none"
                raise JiraEmulatorError(
                    400,
                    [f"No transition from '{record['status']}' to '{status}' on {key} (offered: {offered})."],
                )
            return issues.transition_issue(state, self.account_id, key, chosen.id)

    def update(self, key: str, **fields: Any) -> dict[str, Any] | None:
        """Edit fields (REST input shapes, e.g. `customfield_11064={"value": "2"}`); returns the history.
        On Data Center, text typed in the UI is stored with CRLF line endings."""
        if self.emu.state.datacenter:
            fields = {k: _crlf(v) if isinstance(v, str) else v for k, v in fields.items()}
        return issues.edit_issue(self.emu.state, self.account_id, key, {"fields": fields})

    def assign(self, key: str, account_id: str | None) -> dict[str, Any] | None:
        """Assign to `account_id` (None: unassign); returns the history (None when unchanged)."""
        return issues.assign_issue(self.emu.state, self.account_id, key, account_id)

    def move(self, key: str, project: str) -> dict[str, Any]:
        """Move the issue to another project (its new key in the history's `Key` item)."""
        return issues.move_issue(self.emu.state, self.account_id, key, project)

    def comment(self, key: str, body: Any) -> dict[str, Any]:
        """Add a comment (its webhooks: `comment_created` and the `issue_commented` twin)."""
        return issues.add_comment(self.emu.state, self.account_id, key, body)

    def edit_comment(self, key: str, comment_id: str, body: Any) -> dict[str, Any]:
        """Edit a comment's text (`comment_updated` and the `issue_comment_edited` twin)."""
        return issues.edit_comment(self.emu.state, self.account_id, key, comment_id, body)

    def delete_comment(self, key: str, comment_id: str) -> None:
        """Delete a comment (`comment_deleted` and the `issue_comment_deleted` twin)."""
        issues.delete_comment(self.emu.state, self.account_id, key, comment_id)

    def create(self, project: str, summary: str, issuetype: str = "Incident", **fields: Any) -> str:
        """Create an issue by hand; returns its key."""
        body = {
            "fields": {
                "project": {"key": project},
                "issuetype": {"name": issuetype},
                "summary": summary,
                **fields,
            }
        }
        return issues.create_issue(self.emu.state, self.account_id, body)["key"]


def _crlf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\n", "\r\n")
