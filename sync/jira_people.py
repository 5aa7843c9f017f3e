"""Who a Jira person is, on either deployment.

Jira Cloud names a person by `accountId`; Jira Server/Data Center has none and names them by `name`
(the login) and `key` (stable across renames). Whatever a webhook or changelog carries, the ids it
holds are compared as a set, so the bot's own account is recognised by any of them.
"""

from __future__ import annotations

from typing import Any

_ID_FIELDS = ("accountId", "name", "key")


def person_ids(person: Any) -> frozenset[str]:
    """The ids a Jira user object carries (non-empty strings only; anything else carries none)."""
    if not isinstance(person, dict):
        return frozenset()
    return frozenset(v for k in _ID_FIELDS if isinstance(v := person.get(k), str) and v)
