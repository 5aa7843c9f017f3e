"""The bot's one error path: domain exceptions that listeners turn into a modal error or an ephemeral."""

from __future__ import annotations


class BotError(Exception):
    """An error whose message is meant for the Slack user who caused it."""


class InvalidInput(BotError):
    """Form values that break a rule; `errors` maps each form field to what is wrong with it."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))
        self.errors = errors


class IncidentNotFound(BotError):
    def __init__(self, reference: str) -> None:
        super().__init__(f"No incident matches `{reference}`.")


class NotAnIncidentChannel(BotError):
    def __init__(self) -> None:
        super().__init__(
            "This channel is not an incident channel: run the command in the incident's channel "
            "or give a reference, e.g. `#12` or `INC-42`."
        )


class NotAllowed(BotError):
    """A refusal that says who may do it."""


class MembershipUnknown(BotError):
    def __init__(self, channel_id: str) -> None:
        super().__init__(
            f"Slack did not confirm in time that you are a member of <#{channel_id}>, which updating "
            "needs: please try again."
        )


class CloseRefused(BotError):
    def __init__(self, reasons: list[str]) -> None:
        super().__init__("The incident cannot be closed yet:\n" + "\n".join(f"• {r}" for r in reasons))
        self.reasons = reasons


class MessageRefused(BotError):
    """A message a shortcut or a 📌 cannot take (a bot's, a deleted one), with the reason."""
