"""A small JQL subset: enough for the reconciler's and tests' searches, with Jira's error shape.

Supported: `field op value` with `= != > >= < <= ~ !~`, `[not] in (...)`, `is [not] EMPTY`, `AND`,
`OR`, `NOT`, parentheses, `ORDER BY f [ASC|DESC], ...`. Fields: project, key/issuekey, id, status,
assignee, reporter, labels, issuetype/type, priority, created, updated, resolved, summary,
description, text, and custom fields as `cf[N]`, `customfield_N` or their name. Date values:
"YYYY-MM-DD[ HH:MM]" (also with "/"), epoch milliseconds, relative "-5m"/"-2h"/"-1d"/"-1w", now().
Times are UTC. Anything else is a 400 "Error in the JQL Query", as Jira would answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from .fields import FieldDef, text_of

_TOKEN = re.compile(
    r"\s*(?:(?P<str>\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*')|(?P<op>!=|>=|<=|!~|=|>|<|~|\(|\)|,)"
    r"|(?P<word>[^\s=!<>~(),\"']+))"
)
_DATE_FIELDS = {
    "created": "created",
    "updated": "updated",
    "resolved": "resolutiondate",
    "resolutiondate": "resolutiondate",
}
_RELATIVE = re.compile(r"^([+-]?)(\d+)([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class JqlError(ValueError):
    """A query Jira would refuse; the message follows Jira's wording where it matters."""


class JqlContext(Protocol):
    """What evaluation needs from the store."""

    current_user: str | None

    def field_for(self, name: str) -> FieldDef | None: ...
    def project_exists(self, ref: str) -> bool: ...
    def now(self) -> datetime: ...


@dataclass
class Clause:
    """`field op values`; values are strings, numbers, or `("fn", name)` for functions."""

    field: str
    op: str
    values: list[Any]


@dataclass
class Query:
    """A parsed query: a boolean tree (`Clause` or `(op, children)`) and the ORDER BY keys."""

    where: Any
    order: list[tuple[str, bool]]


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise JqlError(f"Error in the JQL Query: unexpected character at position {pos}.")
            kind = m.lastgroup or "word"
            self.tokens.append((kind, m.group(kind)))
            pos = m.end()
        self.i = 0

    def peek(self, offset: int = 0) -> tuple[str, str] | None:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def is_word(self, word: str, offset: int = 0) -> bool:
        tok = self.peek(offset)
        return tok is not None and tok[0] == "word" and tok[1].lower() == word

    def take(self, expected: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None or (expected is not None and tok[1].lower() != expected):
            raise JqlError(
                f"Error in the JQL Query: expected {expected or 'more input'} at token {self.i + 1}."
            )
        self.i += 1
        return tok

    def query(self) -> Query:
        where = None if self.peek() is None or self.is_word("order") else self.or_expr()
        order: list[tuple[str, bool]] = []
        if self.is_word("order"):
            self.take("order")
            self.take("by")
            while True:
                name = _unquote(self.take())
                desc = False
                if self.is_word("asc") or self.is_word("desc"):
                    desc = self.take()[1].lower() == "desc"
                order.append((name.lower(), desc))
                if self.peek() != ("op", ","):
                    break
                self.take(",")
        if self.peek() is not None:
            raise JqlError(f"Error in the JQL Query: unexpected '{self.peek()[1]}'.")  # type: ignore[index]
        return Query(where, order)

    def or_expr(self) -> Any:
        parts = [self.and_expr()]
        while self.is_word("or"):
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else ("or", parts)

    def and_expr(self) -> Any:
        parts = [self.unary()]
        while self.is_word("and"):
            self.take()
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else ("and", parts)

    def unary(self) -> Any:
        if self.is_word("not"):
            self.take()
            return ("not", [self.unary()])
        if self.peek() == ("op", "("):
            self.take("(")
            inner = self.or_expr()
            self.take(")")
            return inner
        return self.clause()

    def clause(self) -> Clause:
        field = _unquote(self.take()).lower()
        tok = self.take()
        op = tok[1].lower()
        if op == "not" and self.is_word("in"):
            self.take()
            op = "not in"
        if op == "is":
            negated = self.is_word("not")
            if negated:
                self.take()
            if not (self.is_word("empty") or self.is_word("null")):
                raise JqlError("Error in the JQL Query: expected EMPTY after IS.")
            self.take()
            return Clause(field, "is not empty" if negated else "is empty", [])
        if op in ("in", "not in"):
            self.take("(")
            values = [self.value()]
            while self.peek() == ("op", ","):
                self.take(",")
                values.append(self.value())
            self.take(")")
            return Clause(field, op, values)
        if op not in ("=", "!=", ">", ">=", "<", "<=", "~", "!~"):
            raise JqlError(f"Error in the JQL Query: unsupported operator '{tok[1]}'.")
        return Clause(field, op, [self.value()])

    def value(self) -> Any:
        kind, text = self.take()
        if kind == "str":
            return _unquote((kind, text))
        if kind != "word":
            raise JqlError(f"Error in the JQL Query: expected a value, got '{text}'.")
        if self.peek() == ("op", "("):
            self.take("(")
            self.take(")")
            return ("fn", text.lower())
        return text


def _unquote(tok: tuple[str, str]) -> str:
    kind, text = tok
    if kind == "str":
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    return text


def parse(jql: str) -> Query:
    """Parse `jql` or raise `JqlError`."""
    return _Parser(jql or "").query()


def parse_date(value: Any, ctx: JqlContext) -> datetime:
    """A JQL date value as an aware UTC datetime."""
    if value == ("fn", "now"):
        return ctx.now()
    text = str(value).strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    m = _RELATIVE.match(text)
    if m:
        delta = timedelta(**{_UNITS[m.group(3)]: int(m.group(2))})
        return ctx.now() - delta if m.group(1) == "-" else ctx.now() + delta
    for fmt in ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise JqlError(
        f"Error in the JQL Query: date value '{text}' is invalid. Valid formats: 'yyyy/MM/dd HH:mm'."
    )


def _values(record: dict[str, Any], name: str, ctx: JqlContext) -> list[Any]:
    """The comparable values of a field on an issue record (lower-cased strings, datetimes, numbers)."""
    fields = record["fields"]
    if name in _DATE_FIELDS:
        raw = record.get(_DATE_FIELDS[name])
        return [raw] if raw is not None else []
    if name == "project":
        p = record["project"]
        return [p["key"].lower(), p["id"], p["name"].lower()]
    if name in ("key", "issuekey"):
        return [record["key"].lower()]
    if name == "id":
        return [record["id"]]
    if name in ("status", "issuetype", "type", "priority"):
        obj = fields.get("issuetype" if name == "type" else name)
        return [obj["name"].lower(), obj["id"]] if obj else []
    if name in ("assignee", "reporter"):
        user = fields.get(name)
        return [(user.get("accountId") or user["name"]).lower()] if user else []
    if name == "labels":
        return [label.lower() for label in fields.get("labels") or []]
    if name == "text":
        return [(text_of(fields.get(f)) or "").lower() for f in ("summary", "description")]
    field = ctx.field_for(name)
    if field is None:
        raise JqlError(f"Field '{name}' does not exist or you do not have permission to view it.")
    value = fields.get(field.id)
    if value is None:
        return []
    if field.kind == "number":
        return [value]
    items = value if isinstance(value, list) else [value]
    return [str(i["value"] if isinstance(i, dict) and "value" in i else text_of(i)).lower() for i in items]


def _literal(value: Any, field: str, ctx: JqlContext) -> Any:
    if field in _DATE_FIELDS:
        return parse_date(value, ctx)
    if value == ("fn", "currentuser"):
        return (ctx.current_user or "").lower()
    if isinstance(value, tuple):
        raise JqlError(f"Error in the JQL Query: unsupported function '{value[1]}()'.")
    if field == "project" and not ctx.project_exists(str(value)):
        raise JqlError(f"The value '{value}' does not exist for the field 'project'.")
    found = ctx.field_for(field)
    if found is not None and found.kind == "number":
        try:
            return float(value)
        except ValueError as exc:
            raise JqlError(f"Error in the JQL Query: '{value}' is not a number.") from exc
    return str(value).lower()


_KNOWN = {"project", "key", "issuekey", "id", "status", "issuetype", "type", "priority"}
_KNOWN |= {"assignee", "reporter", "labels", "text", *_DATE_FIELDS}


def validate(node: Any, ctx: JqlContext) -> None:
    """Check fields and values up front, so a bad query fails even when no issue would be compared."""
    if node is None:
        return
    if isinstance(node, tuple):
        for child in node[1]:
            validate(child, ctx)
        return
    if node.field not in _KNOWN and ctx.field_for(node.field) is None:
        raise JqlError(f"Field '{node.field}' does not exist or you do not have permission to view it.")
    for value in node.values:
        _literal(value, node.field, ctx)


def matches(node: Any, record: dict[str, Any], ctx: JqlContext) -> bool:
    """Whether an issue record satisfies a parsed `where` tree (None matches everything)."""
    if node is None:
        return True
    if isinstance(node, tuple):
        op, children = node
        if op == "and":
            return all(matches(c, record, ctx) for c in children)
        if op == "or":
            return any(matches(c, record, ctx) for c in children)
        return not matches(children[0], record, ctx)
    have = _values(record, node.field, ctx)
    if node.op == "is empty":
        return not have
    if node.op == "is not empty":
        return bool(have)
    wanted = [_literal(v, node.field, ctx) for v in node.values]
    if node.op in ("=", "in"):
        return any(w in have for w in wanted)
    if node.op in ("!=", "not in"):
        return bool(have) and not any(w in have for w in wanted)
    if node.op in ("~", "!~"):
        found = any(str(wanted[0]).strip("*") in str(h) for h in have)
        return found if node.op == "~" else not found
    compare = {
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
    }
    try:
        return any(compare[node.op](h, wanted[0]) for h in have)
    except TypeError as exc:
        raise JqlError(
            f"Error in the JQL Query: operator '{node.op}' is not supported by field '{node.field}'."
        ) from exc


def sort_key(record: dict[str, Any], name: str, ctx: JqlContext) -> Any:
    """A sortable value for ORDER BY (key sorts by project then number, as Jira does)."""
    if name in ("key", "issuekey"):
        project, number = record["key"].rsplit("-", 1)
        return (project, int(number))
    if name == "id":
        return int(record["id"])
    values = _values(record, name, ctx)
    return (0, values[0]) if values else (1, "")
