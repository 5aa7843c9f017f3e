"""Modal submissions: parse the state, call one domain function, answer with field errors or close."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from sqlmodel import Session

from bot import incidents
from bot.errors import BotError, CloseRefused, InvalidInput
from bot.rules import check_can_close, check_can_update
from listeners.common import is_member, unexpected
from views import state
from views.ids import Block, Callback

if TYPE_CHECKING:
    from bot.app import Runtime

Submit = Callable[[Session, str, dict[str, Any], WebClient], None]


def register(app: App, runtime: Runtime) -> None:
    submissions = Submissions(runtime)
    for callback, handler in (
        (Callback.DECLARE, submissions.declare),
        (Callback.UPDATE, submissions.update),
        (Callback.KEY_EVENTS, submissions.key_events),
        (Callback.CLOSE, submissions.close),
    ):
        app.view(callback.value)(submissions.wrap(handler, error_block=_first_input(callback)))


def _first_input(callback: Callback) -> str:
    return {
        Callback.DECLARE: Block.TITLE,
        Callback.UPDATE: Block.STATUS,
        Callback.KEY_EVENTS: "detected_at",
        Callback.CLOSE: Block.REASON,
    }[callback]


class Submissions:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def wrap(self, handler: Submit, *, error_block: str) -> Callable[..., None]:
        """Turn domain errors into `response_action: errors` on the right block, never a silent failure."""

        def listener(ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
            user = body["user"]["id"]
            try:
                with Session(self.runtime.engine, expire_on_commit=False) as session:
                    handler(session, user, view, client)
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

        return listener

    def declare(self, session: Session, user: str, view: dict[str, Any], client: WebClient) -> None:
        incidents.declare(
            session=session, reporter_id=user, form=state.declare_form(view), policy=self.runtime.policy
        )

    def update(self, session: Session, user: str, view: dict[str, Any], client: WebClient) -> None:
        incident = incidents.get(session, _incident_id(view))
        check_can_update(
            incident, user, is_channel_member=is_member(client, incident, user, from_channel=None)
        )
        incidents.update(
            session=session,
            incident_id=incident.id,
            actor_id=user,
            form=state.update_form(view),
            policy=self.runtime.policy,
        )

    def key_events(self, session: Session, user: str, view: dict[str, Any], client: WebClient) -> None:
        incident = incidents.get(session, _incident_id(view))
        check_can_update(
            incident, user, is_channel_member=is_member(client, incident, user, from_channel=None)
        )
        incidents.set_key_events(
            session=session, incident_id=incident.id, actor_id=user, events_in=state.key_events_form(view)
        )

    def close(self, session: Session, user: str, view: dict[str, Any], client: WebClient) -> None:
        incident = incidents.get(session, _incident_id(view))
        check_can_close(incident, user, policy=self.runtime.policy)
        incidents.close(
            session=session,
            incident_id=incident.id,
            actor_id=user,
            form=state.close_form(view),
            policy=self.runtime.policy,
        )


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
