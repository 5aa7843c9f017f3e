"""Text crossing between Jira and Slack: Jira wiki markup shown as Slack mrkdwn, and a Slack message
written as Jira wiki markup, each safe on the side it lands.

Both directions carry untrusted text, so both are bounded and linear: the input is cut before it is
converted, and no pattern here can backtrack over more than one line. (The maintained converters were
tried and set aside: `jira2markdown`'s parser takes seconds on a few kilobytes of brackets, which a comment
body may hold, and no maintained library reads Slack's `<@U…>` / `<url|label>` syntax; the README says more.)

Jira → Slack never notifies anyone: `<`, `>` and `&` are escaped as Slack requires, so `<!channel>`,
`<!here>`, `<!subteam^…>` and `<@U…>` written in Jira show as text, and the words `@channel`, `@here` and
`@everyone` get a word joiner after the `@`. Only links to http(s) and mailto become Slack links.
Slack → Jira escapes Jira's markup in the message's text, so a message cannot mention a Jira user, open a
macro or fake a link; Slack's own emphasis, code, links, mentions and channels are mapped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from sync.postmortem_render import link_text, wiki
from views.conversation import JOINER, disarm
from views.conversation import slack_text as escape

__all__ = ["JOINER", "MAX_INPUT", "Converted", "jira_to_slack", "slack_to_jira"]

#: Jira text read before converting: enough for a 3,000-character message, and a bound on the work.
MAX_INPUT = 6_000

_URL = re.compile(r"(?:https?://|mailto:)[^\s<>|\[\]]+")
_HEADING = re.compile(r"^\s*h[1-6]\.\s+(.*)$")
_QUOTE_LINE = re.compile(r"^\s*bq\.\s+(.*)$")
_LIST = re.compile(r"^\s*([*#-]+)\s+(.*)$")
_RULE = re.compile(r"^\s*-{4,}\s*$")
_MACRO = re.compile(r"\{(?:color|panel|span|anchor)(?::[^{}\n]{0,200})?\}")
_MONO = re.compile(r"\{\{([^{}\n]{1,2000})\}\}")
_LINK = re.compile(r"\[([^\[\]\n]{1,2000})\]")
_IMAGE = re.compile(r"!([^!\s|]{1,500})(?:\|[^!\n]{0,200})?!")
_EFFECTS = (  # (pattern, Slack marker); each content class excludes its own marker: linear scans
    (re.compile(r"(?<![\w*])\*(?=\S)([^*\n]{1,2000}?)(?<=\S)\*(?![\w*])"), "*"),
    (re.compile(r"(?<![\w_])_(?=\S)([^_\n]{1,2000}?)(?<=\S)_(?![\w_])"), "_"),
    (re.compile(r"(?<![\w-])-(?=\S)([^-\n]{1,2000}?)(?<=\S)-(?![\w-])"), "~"),
    (re.compile(r"(?<![\w+])\+(?=\S)([^+\n]{1,2000}?)(?<=\S)\+(?![\w+])"), ""),
    (re.compile(r"\?\?(?=\S)([^?\n]{1,2000}?)(?<=\S)\?\?"), "_"),
    (re.compile(r"(?<![\w^])\^(?=\S)([^\^\n]{1,2000}?)(?<=\S)\^(?![\w^])"), ""),
)
_BLOCK_MACROS = ("code", "noformat", "quote")


# ---- Jira → Slack --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Converted:
    """Jira text as Slack mrkdwn, and whether it had to be cut."""

    text: str
    cut: bool


def jira_to_slack(source: str, *, limit: int = 3_000) -> Converted:
    """Jira wiki markup as Slack mrkdwn where it maps (the rest as text), at most `limit` characters."""
    text = source.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    cut = len(text) > MAX_INPUT
    text = text[:MAX_INPUT]
    out: list[str] = []
    for kind, chunk in _blocks(text):
        if kind in ("code", "noformat"):
            out.append("```\n" + escape(chunk.strip("\n")) + "\n```")
        elif kind == "quote":
            out.append("\n".join("> " + _line(line) for line in chunk.strip("\n").split("\n")))
        else:
            out.append(_lines(chunk))
    converted = "\n".join(part for part in out if part.strip()).strip()
    converted = disarm(re.sub(r"\n{3,}", "\n\n", converted))
    if len(converted) > limit:
        return Converted(_cut(converted, limit), True)
    return Converted(converted, cut)


def _blocks(text: str) -> list[tuple[str, str]]:
    """Split on `{code…}…{code}`, `{noformat}…{noformat}` and `{quote}…{quote}` with plain scans; an
    unclosed block runs to the end, as Jira renders it."""
    found: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        start, name, opened = _next_macro(text, position)
        if start < 0:
            found.append(("text", text[position:]))
            break
        found.append(("text", text[position:start]))
        closing = "{" + name + "}"
        end = text.find(closing, opened)
        if end < 0:
            found.append((name, text[opened:]))
            break
        found.append((name, text[opened:end]))
        position = end + len(closing)
    return found


def _next_macro(text: str, position: int) -> tuple[int, str, int]:
    """The next block macro's start, name and the index after its opening tag; (-1, "", -1) if none."""
    best = (-1, "", -1)
    for name in _BLOCK_MACROS:
        index = text.find("{" + name, position)
        while index >= 0:
            after = index + 1 + len(name)
            if after < len(text) and text[after] in "}:":
                close = text.find("}", after, after + 200)
                if close >= 0:
                    if best[0] < 0 or index < best[0]:
                        best = (index, name, close + 1)
                    break
            index = text.find("{" + name, index + 1)
    return best


def _lines(chunk: str) -> str:
    lines = []
    numbers: dict[int, int] = {}
    for raw in chunk.replace("\\\\", "\n").split("\n"):
        if _RULE.match(raw):
            lines.append("──────────")
            continue
        if match := _HEADING.match(raw):
            lines.append(f"*{_line(match.group(1))}*")
        elif match := _QUOTE_LINE.match(raw):
            lines.append("> " + _line(match.group(1)))
        elif (match := _LIST.match(raw)) and not _RULE.match(raw):
            marks, depth = match.group(1), len(match.group(1))
            numbers = {d: n for d, n in numbers.items() if d <= depth}
            if marks.endswith("#"):
                numbers[depth] = numbers.get(depth, 0) + 1
                bullet = f"{numbers[depth]}."
            else:
                bullet = "•"
            lines.append("    " * (depth - 1) + f"{bullet} {_line(match.group(2))}")
        elif raw.strip().startswith("||") or (raw.strip().startswith("|") and raw.strip().endswith("|")):
            lines.append(_table_row(raw.strip()))
        else:
            numbers = {}
            lines.append(_line(raw))
    return "\n".join(lines)


def _table_row(row: str) -> str:
    header = row.startswith("||")
    cells = [c.strip() for c in re.split(r"\|\|?", row.strip("|")) if c.strip()]
    return " | ".join(f"*{_line(c)}*" if header else _line(c) for c in cells)


def _line(raw: str) -> str:
    """One line of Jira text: monospace kept apart, links and images, then the text effects."""
    parts = []
    position = 0
    for match in _MONO.finditer(raw):
        parts.append(_inline(raw[position : match.start()]))
        parts.append("`" + escape(match.group(1)) + "`")
        position = match.end()
    parts.append(_inline(raw[position:]))
    return "".join(parts).rstrip()


def _inline(raw: str) -> str:
    raw = _MACRO.sub("", raw)
    raw = raw.replace("{color}", "").replace("{panel}", "")
    pieces = []
    position = 0
    for match in _LINK.finditer(raw):
        pieces.append(_effects(_images(raw[position : match.start()])))
        pieces.append(_link(match.group(1)))
        position = match.end()
    pieces.append(_effects(_images(raw[position:])))
    return "".join(pieces)


def _images(raw: str) -> str:
    return _IMAGE.sub(lambda m: f"(image {m.group(1)})", raw)


def _effects(raw: str) -> str:
    text = escape(raw)
    for pattern, marker in _EFFECTS:
        text = pattern.sub(lambda m, marker=marker: f"{marker}{m.group(1)}{marker}", text)
    return text


def _link(inside: str) -> str:
    """`[label|url]`, `[url]`, a mention `[~accountid:…]` / `[~name]`, or text in brackets."""
    if inside.startswith("~"):
        return escape("@" + inside[1:].removeprefix("accountid:"))
    label, bar, target = inside.rpartition("|")
    if not bar:
        label, target = "", inside
    target = target.strip()
    if _URL.fullmatch(target):
        url = escape(target)
        return f"<{url}|{_effects(label)}>" if label.strip() else f"<{url}>"
    return escape(f"[{inside}]")


def _cut(text: str, limit: int) -> str:
    """At most `limit` characters, never inside a link, an entity or an open code block."""
    cut = text[:limit]
    last_open, last_close = cut.rfind("<"), cut.rfind(">")
    if last_open > last_close:
        cut = cut[:last_open]
    amp = cut.rfind("&")
    if amp >= 0 and ";" not in cut[amp:]:
        cut = cut[:amp]
    if cut.count("```") % 2:
        cut = cut[: limit - 4].rstrip("`")
        if cut.count("```") % 2:
            cut += "\n```"
    return cut.rstrip()


# ---- Slack → Jira --------------------------------------------------------------------------------
_SLACK_TOKEN = re.compile(r"```(.*?)```|`([^`\n]{1,2000})`|<([^<>\n]{1,2000})>", re.DOTALL)
_SLACK_EFFECT = re.compile(r"(?<![\w*_~])([*_~])(?=\S)([^*_~\n]{1,2000}?)(?<=\S)\1(?![\w*_~])")
_JIRA_EFFECT = {"*": "*", "_": "_", "~": "-"}


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def slack_to_jira(text: str, *, name_of: Callable[[str], str]) -> str:
    """A Slack message as Jira wiki markup: emphasis, code, links, people and channels mapped, every
    other character of Jira's markup escaped. `name_of` gives a Slack user's display name."""
    out = []
    position = 0
    for match in _SLACK_TOKEN.finditer(text):
        out.append(_slack_text(text[position : match.start()]))
        block, code, angle = match.groups()
        if block is not None:
            content = unescape(block).strip("\n").replace("{noformat}", "{\u200bnoformat}")
            out.append("{noformat}\n" + content + "\n{noformat}")
        elif code is not None:
            out.append("{{" + wiki(unescape(code)) + "}}")
        else:
            out.append(_slack_angle(angle, name_of))
        position = match.end()
    out.append(_slack_text(text[position:]))
    return "".join(out).strip()


def _slack_text(raw: str) -> str:
    parts = []
    position = 0
    for match in _SLACK_EFFECT.finditer(raw):
        parts.append(wiki(unescape(raw[position : match.start()])))
        marker = _JIRA_EFFECT[match.group(1)]
        parts.append(f"{marker}{wiki(unescape(match.group(2)))}{marker}")
        position = match.end()
    parts.append(wiki(unescape(raw[position:])))
    return "".join(parts)


def _slack_angle(inside: str, name_of: Callable[[str], str]) -> str:
    target, _, label = inside.partition("|")
    if target.startswith("@"):
        return wiki("@" + (label or name_of(target[1:])))
    if target.startswith("#"):
        return wiki("#" + (label or target[1:]))
    if target.startswith("!"):
        return wiki("@" + (label or target[1:].split("^")[0]))
    url = unescape(target)
    if _URL.fullmatch(url):
        return f"[{link_text(unescape(label))}|{url}]" if label else f"[{url}]"
    return wiki(unescape(f"<{inside}>"))
