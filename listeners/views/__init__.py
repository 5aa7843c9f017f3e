"""Modal submissions: parse the state, call one domain function, answer with field errors or close."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot import followups, incidents
from bot.enums import KeyEventKind
from bot.errors import BotError, CloseRefused, InvalidInput
from bot.models import Incident, utcnow
from listeners.common import Services, slack_actor, unexpected
from views import followups as followup_views
from views import messages, state
from views.ids import Block, Callback, key_event_at

logger = logging.getLogger(__name__)

#: What runs once the modal is acked (closed): a reply to the user, never anything that can fail the form.
FollowUp = Callable[[], None]
Submit = Callable[[Session, str, dict[str, Any], WebClient], FollowUp | None]


def register(app: App, services: Services) -> None:
    submissions = Submissions(services)
    for callback, handler in (
        (Callback.DECLARE, submissions.declare),
        (Callback.UPDATE, submissions.update),
        (Callback.KEY_EVENTS, submissions.key_events),
        (Callback.CLOSE, submissions.close),
        (Callback.FOLLOWUP, submissions.followup),
    ):
        app.view(callback.value)(submissions.wrap(handler, error_block=_first_input(callback)))


def _first_input(callback: Callback) -> str:
    return {
        Callback.DECLARE: Block.TITLE,
        Callback.UPDATE: Block.STATUS,
        Callback.KEY_EVENTS: key_event_at(KeyEventKind.DETECTED),
        Callback.CLOSE: Block.REASON,
        Callback.FOLLOWUP: Block.SUMMARY,
    }[callback]


class Submissions:
    """Each submission is one unit of work: the handler's use case, then one commit."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def wrap(self, handler: Submit, *, error_block: str) -> Callable[..., None]:
        """Turn domain errors into `response_action: errors` on the right block, never a silent failure."""

        def listener(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
            user = body["user"]["id"]
            try:
                with self.services.uow.session() as session:
                    follow_up = handler(session, user, view, client)
                    session.commit()
            except InvalidInput as exc:
                ack(response_action="errors", errors=_on_blocks(exc.errors, view, error_block))
                return
            except CloseRefused as exc:
                block = Block.STATUS if view.get("callback_id") == Callback.UPDATE else error_block
                ack(response_action="errors", errors={block: str(exc)[:2000]})
                return
            except BotError as exc:
                ack(response_action="errors", errors={error_block: str(exc)[:2000]})
                return
            except Exception as exc:
                ack(response_action="errors", errors={error_block: unexpected(exc)})
                return
            ack()
            if follow_up is not None:
                follow_up()

        return listener

    def declare(
        self, session: Session, user: str, view: dict[str, Any], client: WebClient
    ) -> FollowUp | None:
        incident = incidents.declare(
            session=session, reporter_id=user, form=state.declare_form(view), policy=self.services.policy
        )
        text = messages.declared_ack(incident, jira_enabled=self.services.jira_enabled)
        origin = state.State(view).metadata.get("channel_id")
        return lambda: _tell(client, user=user, channel=origin, text=text)

    def update(self, session: Session, user: str, view: dict[str, Any], client: WebClient) -> FollowUp | None:
        incident = incidents.get(session, _incident_id(view))
        form = state.update_form(view)
        update = incidents.update(
            session=session,
            incident_id=incident.id,
            actor=slack_actor(client, user, from_channel=None),
            form=form,
            policy=self.services.policy,
            shown=state.update_shown(view, form),
        )
        if update is None:
            raise InvalidInput({Block.MESSAGE: "Nothing changed: change a field or write a message."})
        text = messages.change_summary(user, update.changes, update.message)
        return _channelless_reply(client, incident, user, view, f"Incident #{incident.id}: {text}")

    def key_events(
        self, session: Session, user: str, view: dict[str, Any], client: WebClient
    ) -> FollowUp | None:
        incident = incidents.get(session, _incident_id(view))
        update = incidents.set_key_events(
            session=session,
            incident_id=incident.id,
            actor=slack_actor(client, user, from_channel=None),
            events_in=state.key_events_form(view),
        )
        if update is None:
            return None
        text = messages.key_events_summary(user, update.changes)
        return _channelless_reply(client, incident, user, view, f"Incident #{incident.id}: {text}")

    def close(self, session: Session, user: str, view: dict[str, Any], client: WebClient) -> FollowUp | None:
        incident = incidents.get(session, _incident_id(view))
        update = incidents.close(
            session=session,
            incident_id=incident.id,
            actor=slack_actor(client, user, from_channel=None),
            form=state.close_form(view),
            policy=self.services.policy,
        )
        text = messages.closed_message(incident, incident.closure_reason, update.message)
        return _channelless_reply(client, incident, user, view, text)

    def followup(
        self, session: Session, user: str, view: dict[str, Any], client: WebClient
    ) -> FollowUp | None:
        if not self.services.jira_enabled:
            raise BotError("Jira is not enabled, so follow-ups cannot be created.")
        form = state.followup_form(view)
        if form.assignee_id:
            _check_assignable(client, form.assignee_id)
        followup = followups.request(
            session=session,
            incident_id=_incident_id(view),
            actor=slack_actor(client, user, from_channel=None),
            form=form,
        )
        text = followup_views.requested(followup, today=utcnow().date())
        origin = state.State(view).metadata.get("channel_id")
        return lambda: _tell(client, user=user, channel=origin, text=text)


def _check_assignable(client: WebClient, user_id: str) -> None:
    """A follow-up is for a person who can do it: not a bot, not a deactivated account."""
    try:
        found = client.users_info(user=user_id)["user"]
    except SlackApiError:
        raise InvalidInput({Block.ASSIGNEE: "This user could not be found; choose someone else."}) from None
    if found.get("is_bot") or found.get("deleted"):
        what = "a deactivated account" if found.get("deleted") else "a bot"
        raise InvalidInput({Block.ASSIGNEE: f"<@{user_id}> is {what}; assign the follow-up to a person."})


def _channelless_reply(
    client: WebClient, incident: Incident, user: str, view: dict[str, Any], text: str
) -> FollowUp | None:
    """An incident with a channel hears of its changes there; one without (P4–P5) tells the user here."""
    if incident.channel_id:
        return None
    origin = state.State(view).metadata.get("channel_id")
    return lambda: _tell(client, user=user, channel=origin, text=text)


def _tell(client: WebClient, *, user: str, channel: str | None, text: str) -> None:
    """An ephemeral where the user acted; by DM when that is impossible (e.g. the bot is not there)."""
    if channel:
        try:
            client.chat_postEphemeral(channel=channel, user=user, text=text)
            return
        except SlackApiError as exc:
            logger.info(
                "ephemeral to %s in %s refused (%s); sending a DM", user, channel, exc.response.get("error")
            )
    try:
        client.chat_postMessage(channel=user, text=text)
    except SlackApiError:
        logger.exception("could not tell %s about their submission", user)


def _incident_id(view: dict[str, Any]) -> int:
    incident_id = state.incident_id(view)
    if incident_id is None:
        raise BotError("This form lost track of its incident; open it again from the incident.")
    return incident_id


def _on_blocks(errors: dict[str, str], view: dict[str, Any], fallback: str) -> dict[str, str]:
    """Errors keyed by form field, moved onto blocks that exist in this modal."""
    present = {block.get("block_id") for block in view.get("blocks", []) if block.get("type") == "input"}
    placed: dict[str, str] = {}
    for field, message in errors.items():
        block = field if field in present else fallback
        placed[block] = f"{placed[block]} {message}" if block in placed else message
    return placed
