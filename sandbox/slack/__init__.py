"""A local, stateful Slack: the Web API over HTTP and Socket Mode over WebSocket, for tests and the sandbox.

Real clients talk to it over loopback — `slack_sdk.WebClient(base_url=emu.api_url)` and Bolt's
`SocketModeHandler` — so nothing in the bot is mocked. Usage::

    from slack_bolt import App
    from slack_bolt.adapter.socket_mode import SocketModeHandler
    from slack_sdk import WebClient
    from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

    from sandbox.slack import SlackEmulator, SlackUser

    emu = SlackEmulator(bot_token="xoxb-sandbox", app_token="xapp-sandbox").start()
    emu.add_user("U1", name="alice", email="alice@example.com", real_name="Alice")

    # Unset HTTPS_PROXY/HTTP_PROXY first (or set them to ""): WebClient routes loopback through them, it
    # ignores NO_PROXY. Do NOT pass proxy="": slack_sdk then installs ProxyHandler("") -> "no host given".
    client = WebClient(token="xoxb-sandbox", base_url=emu.api_url,
                       retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)])
    app = App(token="xoxb-sandbox", client=client)   # calls auth.test now: start the emulator first
    # ... register listeners ...

    # SocketModeHandler builds its SocketModeClient with web_client=app.client, so apps.connections.open
    # goes to the emulator and the WebSocket to the URL it returns: no extra arguments are needed.
    handler = SocketModeHandler(app, app_token="xapp-sandbox")
    handler.connect()          # returns once connected; start() = connect() + block forever (a runner's main)
    emu.wait_connected()

    alice = SlackUser(emu, "U1")
    alice.command("/incident", "open Checkout is down", channel_id=emu.add_channel("general"))
    view = alice.wait_for_view(callback_id="declare_incident")
    ack = alice.submit(view, {"Title": "Checkout is down", "Priority": "P1"})
    assert ack.errors is None

    handler.close()            # close the client first, then the emulator
    emu.stop()

Behaviour worth knowing:

- Accessors (`channels`, `messages`, `views`, `calls`, ...) return deep copies taken under the lock.
  `open_views(user)` is the history of views opened/pushed for a user; `view_stack(user)` is what is
  on screen now. `emu.wait_for` polls, treating a LookupError (`msgs[0]` on an empty list) as "not yet".
- `send_envelope` raises ConnectionError when no client is connected and TimeoutError when no ack comes
  (Bolt sends none for an unmatched request).
- `SlackUser.wait_for_view` ignores views that appeared before the user's latest action.
  `submit` raises `forms.InputRejected` (a ValueError) where Slack's client would refuse to submit
  (required input empty, min/max_length, bad number), KeyError for an unknown label or option, and
  ValueError when the app answers `errors` for block_ids that are not input blocks.
- Slash-command and block_actions payloads carry a `response_url` served by the emulator, so Bolt's
  `respond()` works: ephemeral by default, `in_channel`, `replace_original`, `delete_original`.
- `hold(method)` keeps the next call of `method` in flight (logged, unanswered) until `Hold.release()`,
  to kill the bot mid-call; the call then runs as usual, even if its client is gone. `stop()` releases.
- `SlackUser.open_home()` sends `app_home_opened` (an `events_api` envelope, `tab: home`, with the view
  last published once there is one) and returns the view the app publishes (`views.publish`, checked
  like Slack: type `home`, at most 100 blocks, `hash`); `click_in_home(label, row=...)` presses a
  button there (a view container: no channel, no response_url). `emu.home_view(user)` is what the tab
  shows now.
- Slack's system messages (channel_join, channel_topic) are not posted: `messages()` holds only what
  was posted with chat.postMessage (and in_channel responses).
"""

from sandbox.slack.emulator import SlackEmulator
from sandbox.slack.holds import Hold
from sandbox.slack.socket_mode import Ack
from sandbox.slack.user import SlackUser

__all__ = ["Ack", "Hold", "SlackEmulator", "SlackUser"]
