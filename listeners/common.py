"""What the listener groups share: the services they are handed, finding the incident a request is
about, and the acting user (with the Slack membership check the domain's rules may ask for)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from slack_bolt import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlmodel import Session

from bot import incidents
from bot.errors import BotError, MembershipUnknown, NotAnIncidentChannel
from bot.models import Incident
from bot.rules import Actor, Policy
from bot.uow import UnitOfWork

logger = logging.getLogger(__name__)
MEMBERSHIP_TIMEOUT = 2.0  # seconds; Slack wants the ack within 3


@dataclass(frozen=True)
class Services:
    """What the listeners use: a session that commits with its jobs, the rules, and whether Jira is on."""

    uow: UnitOfWork
    policy: Policy
    jira_enabled: bool


def resolve(session: Session, *, channel_id: str | None, reference: str | None) -> Incident:
    """The incident named by `reference` (`#12`, `INC-42`), else the one of this channel."""
    if reference:
        return incidents.find(session, reference)
    incident = incidents.for_channel(session, channel_id) if channel_id else None
    if incident is None:
        raise NotAnIncidentChannel()
    return incident


def is_member(client: WebClient, incident: Incident, user_id: str, *, from_channel: str | None) -> bool:
    """Whether the user is in the incident channel.

    A slash command typed in the channel proves it without a call (only members can post there);
    a button click does not (anyone may look into a public channel), so buttons pass `None`. The call
    runs before the ack, so it gets `MEMBERSHIP_TIMEOUT`, not the client's; if Slack does not answer by
    then the user is asked to try again (MembershipUnknown) rather than refused or kept waiting.
    """
    if not incident.channel_id:
        return False
    if from_channel == incident.channel_id:
        return True
    quick = WebClient(
        token=client.token,
        base_url=client.base_url,
        timeout=MEMBERSHIP_TIMEOUT,
        ssl=client.ssl,
        proxy=client.proxy,
    )
    try:
        cursor = None
        while True:
            page = quick.conversations_members(channel=incident.channel_id, cursor=cursor, limit=1000)
            if user_id in page.get("members", []):
                return True
            cursor = page.get("response_metadata", {}).get("next_cursor")
            if not cursor:
                return False
    except SlackApiError as exc:
        logger.warning("membership check for %s in %s failed: %s", user_id, incident.channel_id, exc)
        return False
    except (SlackClientError, OSError) as exc:  # a timeout, or Slack out of reach
        logger.warning("membership check for %s in %s got no answer: %r", user_id, incident.channel_id, exc)
        raise MembershipUnknown(incident.channel_id) from None


def slack_actor(client: WebClient, user_id: str, *, from_channel: str | None) -> Actor:
    """The Slack user acting, whose channel membership is asked of Slack only if a rule needs it."""
    return Actor(
        user_id, in_channel=lambda incident: is_member(client, incident, user_id, from_channel=from_channel)
    )


def answer_privately(
    respond: Respond,
    work: Callable[[], str | None],
    *,
    user: str,
    where: str | None,
    dm: Callable[[str], object] | None = None,
) -> None:
    """Run an interaction's work and send its answer, or why it failed, to whoever acted, through the
    interaction's response_url (Slack refuses an ephemeral to someone not in the channel, who is usually
    the one a refusal is for), or by `dm` where the interaction has none (the Home tab)."""
    try:
        reply = work()
    except BotError as exc:
        reply = str(exc)
    except Exception as exc:
        reply = unexpected(exc)
    if reply:
        try:
            if dm is not None:
                dm(reply)
            else:
                respond(text=reply, response_type="ephemeral", replace_original=False)
        except Exception:
            logger.exception("could not answer %s in %s", user, where)


def unexpected(error: BaseException) -> str:
    """Log an unexpected error with an id the user can quote, and say so without the details."""
    error_id = uuid.uuid4().hex[:8]
    logger.error("unexpected error %s", error_id, exc_info=error)
    return f"Something went wrong on our side (error id `{error_id}`); it has been logged. Please try again."
