"""The slash command's reply rule: the first answer rides on the ack, later ones go by response_url."""

from __future__ import annotations

from listeners.commands import Reply


class Recorder:
    """Stands in for Bolt's `ack` or `respond`: records what it was called with."""

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def __call__(self, **kwargs: object) -> None:
        self.calls.append(kwargs)


def test_first_answer_is_the_ack_and_later_ones_are_responses() -> None:
    ack, respond = Recorder(), Recorder()
    reply = Reply(ack, respond)  # type: ignore[arg-type]
    reply()
    reply("The modal could not open: try again.")
    reply()
    assert ack.calls == [{}]
    assert respond.calls == [{"text": "The modal could not open: try again."}]


def test_a_text_answer_is_the_ack_itself() -> None:
    ack, respond = Recorder(), Recorder()
    Reply(ack, respond)("No incident matches `#9`.")  # type: ignore[arg-type]
    assert ack.calls == [{"text": "No incident matches `#9`."}]
    assert respond.calls == []
