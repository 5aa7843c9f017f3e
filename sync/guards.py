"""Loop guards between Slack and Jira: the bounce keys, and the bot's own account.

Before the bot writes a value to Jira it sets `sync:impact_to_jira:<incident>:<field>:<value>` for
60 s (a count of such writes); when Jira reports that same value back (by webhook or reconciler) the
processor takes one off, and skips the change; the key goes when none is left. Long text values are
hashed so keys stay short; line endings do not count (Jira Server/Data Center gives text back with CRLF).
"""

from __future__ import annotations

import hashlib

from bot.kv import KeyValueStore
from sync.jira_fields import one_line_ending

BOUNCE_TTL_SECONDS = 60.0


def normalize(field: str, value: object) -> str:
    text = "" if value is None else one_line_ending(str(value)).strip()
    if field == "status":
        text = text.lower()
    return text if len(text) <= 64 else "sha1-" + hashlib.sha1(text.encode()).hexdigest()


def bounce_key(incident_id: int, field: str, value: object) -> str:
    return f"sync:impact_to_jira:{incident_id}:{field}:{normalize(field, value)}"


class BounceGuard:
    def __init__(self, kv: KeyValueStore) -> None:
        self.kv = kv

    def expect(self, incident_id: int, field: str, value: object) -> str:
        """Remember that Jira will report `field` = `value` because we are writing it; returns the key.

        The key counts the writes whose echo is still to come: the same value written twice before
        the first echo arrives (to "" and back, say) must swallow both echoes, not only the first."""
        key = bounce_key(incident_id, field, value)
        self.kv.count_up(key, ttl=BOUNCE_TTL_SECONDS)
        return key

    def forget(self, keys: list[str]) -> None:
        """Take the keys back: the write failed before Jira applied it, so no echo will come."""
        for key in keys:
            self.kv.take_one(key)

    def is_echo(self, incident_id: int, field: str, value: object) -> bool:
        """True (once per write) when this change is the echo of our own write."""
        return self.kv.take_one(bounce_key(incident_id, field, value))
