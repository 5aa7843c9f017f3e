"""Linking two Jira issues with the first link type the site has: `Relates`, else `Blocks`, else
`Relates to`. Best effort: a link that cannot be made is logged, never a failed job."""

from __future__ import annotations

import logging

from bot.jobs import PermanentFailure
from sync.jira_client import JiraGateway

logger = logging.getLogger(__name__)

LINK_TYPES = ("Relates", "Blocks", "Relates to")


def link_issues(jira: JiraGateway, key: str, other: str) -> None:
    """Link `key` (inward) to `other` (outward) unless they are linked already."""
    try:
        links = jira.issue(key, fields="issuelinks")["fields"].get("issuelinks") or []
        jira.issue(other, fields="summary")
    except PermanentFailure as exc:
        logger.warning("%s not linked to %s: %s", key, other, exc)
        return
    if any(other in (_linked_key(link, "inwardIssue"), _linked_key(link, "outwardIssue")) for link in links):
        return
    for name in LINK_TYPES:
        body = {"type": {"name": name}, "inwardIssue": {"key": key}, "outwardIssue": {"key": other}}
        try:
            jira.rest("POST", "issueLink", body=body)
        except PermanentFailure as exc:
            logger.info("%s: link type %r did not work: %s", key, name, exc)
            continue
        logger.info("%s linked to %s (%s)", key, other, name)
        return
    logger.warning("%s left unlinked to %s: none of the link types %s worked", key, other, LINK_TYPES)


def _linked_key(link: dict[str, object], side: str) -> str | None:
    issue = link.get(side)
    return issue.get("key") if isinstance(issue, dict) else None
