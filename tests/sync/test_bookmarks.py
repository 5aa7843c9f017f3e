"""The channel's bookmarks to the ticket and the post-mortem: one each, on the current key, a person's
own bookmarks left alone, and an app installed before `bookmarks:read` still bookmarking."""

from __future__ import annotations

from bot.enums import Lane
from bot.jobs import enqueue
from sandbox.jira import JiraUser
from sandbox.rig import person
from sandbox.slack.user import SlackUser
from sync.bookmarks import TICKET
from sync.outbox import Kind
from tests.sync.webhook_support import declared, settle


def bookmarks(harness, channel: str) -> list[tuple[str, str]]:
    return [(b["title"], b["link"]) for b in harness.slack.bookmarks(channel)]


def queue_bookmark(harness, incident_id: int, **payload: str) -> None:
    with harness.session() as session:
        enqueue(
            session,
            Kind.BOOKMARK,
            lane=Lane.SLACK,
            incident_id=incident_id,
            payload={"title": TICKET, **payload},
        )
        session.commit()


def test_a_bookmark_job_run_again_leaves_one_bookmark(harness) -> None:
    incident, ticket = declared(harness, webhooks=False)
    queue_bookmark(harness, incident.id)  # the job run again, as after a reply lost on the way back
    harness.drain()
    assert bookmarks(harness, incident.channel_id) == [(TICKET, ticket.url)]
    assert len(harness.slack.calls_to("bookmarks.add")) == 1


def test_a_moved_ticket_re_points_the_bot_s_bookmark_and_a_late_job_keeps_the_new_key(
    harness, webhook_url
) -> None:
    incident, ticket = declared(harness)
    harness.jira.add_project("OPS", "Operations")
    people_doc = "https://docs.example.com/jira-ticket-notes"
    SlackUser(harness.slack, person("alice").slack_id).add_bookmark(incident.channel_id, TICKET, people_doc)
    JiraUser(harness.jira, person("bob").jira_account).move(ticket.key, "OPS")
    settle(harness)
    moved = harness.ticket(incident)
    assert moved.key.startswith("OPS-")
    assert bookmarks(harness, incident.channel_id) == [(TICKET, moved.url), (TICKET, people_doc)]
    queue_bookmark(harness, incident.id)  # a job queued before the move, run late
    harness.drain()
    assert bookmarks(harness, incident.channel_id) == [(TICKET, moved.url), (TICKET, people_doc)]


def test_without_bookmarks_read_the_bookmark_is_still_added(harness) -> None:
    harness.slack.fail("bookmarks.list", "missing_scope")
    incident, ticket = declared(harness, webhooks=False)
    assert bookmarks(harness, incident.channel_id) == [(TICKET, ticket.url)]
    assert not [j for j in harness.jobs() if j.state == "failed"]
