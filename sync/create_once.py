"""Creating a Jira issue exactly once, though a reply may be lost after Jira saved the issue.

Every issue the bot creates for an incident (its ticket, its post-mortem) carries a *marker*: a sentence
naming the incident. The creating job runs again when it did not hear back; on such a retry it first
searches Jira for an issue carrying the marker and takes that one instead of creating a second. The
caller records what it got in its own transaction, under a unique constraint, so two workers that both
created one end with one recorded.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sync.jira_client import JiraGateway

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Marker:
    """`template` is written into the issue (with `{id}`); `pattern` finds it again, its one group the id
    (looser than the template where Jira may re-render the text, e.g. emphasis)."""

    template: str
    pattern: re.Pattern[str]

    def text(self, incident_id: int) -> str:
        return self.template.format(id=incident_id)

    def incident_of(self, text: object) -> int | None:
        match = self.pattern.search(text if isinstance(text, str) else "")
        return int(match.group(1)) if match else None


def create_once(
    jira: JiraGateway,
    *,
    owner_id: int,
    retry: bool,
    what: str,
    search: str,
    field: str,
    marker: Marker,
    create: Callable[[], tuple[str, str]],
) -> tuple[str, str]:
    """The issue's (id, key): on a `retry`, the one an earlier attempt made (JQL `search`, the marker
    naming `owner_id` (the incident, or the follow-up) in `field`) if Jira has it; otherwise a newly
    created one."""
    if retry:
        found = jira.find_issue(search, field=field, wanted=lambda text: marker.incident_of(text) == owner_id)
        if found:
            logger.info("%s of %s: found %s made by an earlier attempt", what, owner_id, found[1])
            return found
    created = create()
    logger.info("%s of %s: created Jira issue %s", what, owner_id, created[1])
    return created
