"""`manifest.yml` against the code: exactly the bot scopes the code's Web API calls need, and the
slash command the listeners answer.

The Web API methods are found by reading the source: every call of a `WebClient` method (`client.chat_update`,
`self.ctx.slack.pins_add`, ...) or of `api_call("<method>")` in the bot's packages. `WebClient`'s own source
says which API method each of its Python methods calls, so nothing is guessed from names.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path
from types import SimpleNamespace

import slack_sdk.web.client
from slack_bolt import App, BoltRequest
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient

import listeners
from views.ids import COMMAND, Shortcut
from views.messages import HELP

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "listeners", "sync", "views")

#: API method -> the alternative scope sets that allow it for a bot token (any one set suffices).
#: From each method's page on docs.slack.dev ("Required scopes", bot token), public channels only.
SCOPES: dict[str, tuple[frozenset[str], ...]] = {
    "auth.test": (frozenset(),),
    "views.open": (frozenset(),),
    "views.push": (frozenset(),),
    "views.update": (frozenset(),),
    "views.publish": (frozenset(),),
    "chat.postMessage": (frozenset({"chat:write"}),),
    "chat.postEphemeral": (frozenset({"chat:write"}),),
    "chat.update": (frozenset({"chat:write"}),),
    "chat.delete": (frozenset({"chat:write"}),),
    "conversations.create": (frozenset({"channels:manage"}),),
    "conversations.archive": (frozenset({"channels:manage"}),),
    "conversations.invite": (frozenset({"channels:manage"}), frozenset({"channels:write.invites"})),
    "conversations.setTopic": (frozenset({"channels:manage"}), frozenset({"channels:write.topic"})),
    "conversations.members": (frozenset({"channels:read"}),),
    "conversations.info": (frozenset({"channels:read"}),),
    "users.conversations": (frozenset({"channels:read"}),),  # public channels only (types=public_channel)
    "conversations.join": (frozenset({"channels:join"}),),
    "conversations.open": (frozenset({"im:write"}),),
    "pins.add": (frozenset({"pins:write"}),),
    "pins.remove": (frozenset({"pins:write"}),),
    "bookmarks.add": (frozenset({"bookmarks:write"}),),
    "bookmarks.edit": (frozenset({"bookmarks:write"}),),
    "bookmarks.list": (frozenset({"bookmarks:read"}),),
    # The bot reads `profile.email` from users.info, which Slack only fills with users:read.email.
    "users.info": (frozenset({"users:read", "users:read.email"}),),
    "users.lookupByEmail": (frozenset({"users:read.email"}),),
    "chat.getPermalink": (frozenset(),),
    "conversations.history": (frozenset({"channels:history"}),),
    "conversations.replies": (frozenset({"channels:history"}),),
    "reactions.add": (frozenset({"reactions:write"}),),
    "reactions.get": (frozenset({"reactions:read"}),),
}
#: Bot event -> the scope Slack requires before it delivers the event to the app.
#: The scope Slack requires before it delivers each bot event (None: the event needs none).
EVENT_SCOPES = {
    "reaction_added": "reactions:read",
    "reaction_removed": "reactions:read",
    "app_home_opened": None,
}


def web_client_methods() -> dict[str, str]:
    """`WebClient` Python method name -> the Web API method it calls, read from slack_sdk's source."""
    tree = ast.parse(inspect.getsource(slack_sdk.web.client))
    found: dict[str, str] = {}
    client = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "WebClient")
    for function in client.body:
        if not isinstance(function, ast.FunctionDef):
            continue
        for node in ast.walk(function):
            if _api_call(node):
                found[function.name] = node.args[0].value  # type: ignore[attr-defined]
                break
    return found


def _api_call(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "api_call"
        and bool(node.args)
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    )


def used_methods() -> dict[str, set[str]]:
    """API method -> where the bot's code calls it (`path:line`)."""
    by_name = web_client_methods()
    used: dict[str, set[str]] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                    continue
                method = node.args[0].value if _api_call(node) else by_name.get(node.func.attr)  # type: ignore[attr-defined]
                if method:
                    used.setdefault(method, set()).add(f"{path.relative_to(ROOT)}:{node.lineno}")
    return used


def manifest() -> str:
    return (ROOT / "manifest.yml").read_text()


def manifest_list(text: str, key: str) -> list[str]:
    """The items of a block-style list of the manifest (`bot:` scopes, `bot_events:`)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if re.fullmatch(rf"\s+{key}:\s*", line))
    items = []
    for line in lines[start + 1 :]:
        if re.fullmatch(r"\s*(#.*)?", line):
            continue
        item = re.fullmatch(r"\s+-\s+([\w:.\-]+)\s*(#.*)?", line)
        if item is None:
            break
        items.append(item.group(1))
    return items


def manifest_bot_scopes(text: str) -> list[str]:
    """The `oauth_config.scopes.bot` list."""
    return manifest_list(text, "bot")


def manifest_bot_events(text: str) -> list[str]:
    """The `settings.event_subscriptions.bot_events` list."""
    return manifest_list(text, "bot_events")


def handled_events() -> set[str]:
    """Every event a listener registers (`app.event("<type>")`), read from the listeners' source."""
    found = set()
    for path in (ROOT / "listeners").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "event"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                found.add(node.args[0].value)
    return found


def manifest_commands(text: str) -> list[str]:
    return re.findall(r"^\s*-\s*command:\s*[\"']?(/[\w-]+)", text, flags=re.MULTILINE)


def covered(method: str, scopes: set[str]) -> bool:
    return any(needed <= scopes for needed in SCOPES[method])


def test_the_scan_sees_the_bots_calls() -> None:
    used = used_methods()
    for method in ("chat.postMessage", "chat.update", "conversations.create", "views.open", "pins.add"):
        assert method in used, f"the scanner missed {method}: it would pass vacuously"


def test_every_web_api_method_the_code_calls_has_a_scope_and_every_scope_is_used() -> None:
    used = used_methods()
    unknown = sorted(set(used) - set(SCOPES))
    assert not unknown, f"add the bot scopes of {unknown} to SCOPES (called at {[used[m] for m in unknown]})"
    text = manifest()
    scopes = set(manifest_bot_scopes(text))
    missing = {method: sorted(used[method]) for method in used if not covered(method, scopes)}
    assert not missing, f"manifest.yml lacks the bot scope for {missing}"
    needs_commands = bool(manifest_commands(text))
    assert ("commands" in scopes) == needs_commands, "`commands` goes with the slash command"
    unneeded = sorted(
        scope for scope in scopes - {"commands"} if all(covered(method, scopes - {scope}) for method in used)
    )
    assert not unneeded, f"manifest.yml asks for bot scopes nothing needs: {unneeded}"
    assert len(manifest_bot_scopes(text)) == len(scopes), "a scope is listed twice"


def test_manifest_turns_on_socket_mode_and_interactivity() -> None:
    text = manifest()
    assert re.search(r"^\s+socket_mode_enabled:\s*true\s*$", text, flags=re.MULTILINE)
    assert re.search(r"^\s+interactivity:\s*\n\s+is_enabled:\s*true\s*$", text, flags=re.MULTILINE)


def test_the_manifest_subscribes_to_exactly_the_events_the_listeners_handle() -> None:
    assert "app_home_opened" in handled_events(), "the scan would pass vacuously"
    assert sorted(manifest_bot_events(manifest())) == sorted(handled_events())


def test_the_manifest_enables_the_home_tab_and_keeps_the_messages_tab() -> None:
    text = manifest()
    assert re.search(
        r"^\s+app_home:\s*\n\s+(#.*\n\s+)?home_tab_enabled:\s*true\s*$", text, flags=re.MULTILINE
    )
    assert re.search(r"^\s+messages_tab_enabled:\s*true\s*$", text, flags=re.MULTILINE)


def _dispatch(app: App, command: str, text: str) -> tuple[int, str]:
    body = {
        "command": command,
        "text": text,
        "user_id": "U1",
        "channel_id": "C1",
        "team_id": "T1",
        "trigger_id": "1.2.3",
        "response_url": "http://127.0.0.1:9/commands/T1/x",
    }
    response = app.dispatch(BoltRequest(body=body, mode="socket_mode"))
    return response.status, response.body


def test_the_manifests_slash_command_is_the_one_the_listeners_answer() -> None:
    assert manifest_commands(manifest()) == [COMMAND]
    app = App(
        client=WebClient(base_url="http://127.0.0.1:9/api/"),
        authorize=lambda **_: AuthorizeResult(enterprise_id=None, team_id="T1", bot_token="xoxb-test"),
        raise_error_for_unhandled_request=False,
    )
    listeners.register(app, SimpleNamespace())  # type: ignore[arg-type]
    status, body = _dispatch(app, COMMAND, "help")
    assert status == 200
    assert "/incident open" in body and HELP.splitlines()[0].replace("*", "") in body.replace("*", "")
    assert _dispatch(app, "/not-ours", "help")[0] == 404


def test_the_manifests_bot_events_and_shortcuts_are_the_ones_the_listeners_answer() -> None:
    text = manifest()
    app = App(
        client=WebClient(base_url="http://127.0.0.1:9/api/"),
        authorize=lambda **_: AuthorizeResult(enterprise_id=None, team_id="T1", bot_token="xoxb-test"),
        raise_error_for_unhandled_request=False,
    )
    listeners.register(app, SimpleNamespace())  # type: ignore[arg-type]
    events = manifest_list(text, "bot_events")
    shortcuts = re.findall(r"^\s+callback_id:\s*(\w+)", text, flags=re.MULTILINE)
    assert sorted(events) == ["app_home_opened", "reaction_added", "reaction_removed"]
    assert sorted(shortcuts) == sorted(s.value for s in Shortcut)
    assert all(re.search(rf"type: message\s+callback_id: {s}", text) for s in shortcuts), "message shortcuts"
    scopes = set(manifest_bot_scopes(text))
    assert all(EVENT_SCOPES[event] in scopes for event in events if EVENT_SCOPES[event]), (
        "Slack delivers an event only with its scope"
    )
    for name in [*events, *shortcuts]:
        assert _answers(app, name), f"no listener for {name}"
    assert not _answers(app, "create_nothing"), "the check can fail"


def _answers(app: App, name: str) -> bool:
    """Whether a listener takes a minimal payload of this event or message shortcut."""
    if name in EVENT_SCOPES:
        body: dict = {
            "type": "event_callback",
            "team_id": "T1",
            "event": {"type": name, "user": "U1", "reaction": "eyes", "item": {"type": "message"}},
        }
    else:
        body = {
            "type": "message_action",
            "callback_id": name,
            "team": {"id": "T1"},
            "user": {"id": "U1"},
            "channel": {"id": "C1"},
            "message": {},
            "response_url": "http://127.0.0.1:9/actions/T1/x",
            "trigger_id": "1.2.3",
        }
    return any(
        listener.matches(req=BoltRequest(body=body, mode="socket_mode"), resp=None)
        for listener in app._listeners
    )
