"""Domain events: what the outside world (Slack, Jira) needs to know about a committed change.

Signals are sent inside the domain's transaction, with the session, so that subscribers in `sync/`
record their jobs in the same commit (the transactional outbox). The domain never learns who listens.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: kwargs: session, incident, update
incident_declared = _signals.signal("incident-declared")
#: kwargs: session, incident, update (its `changes` holds {field: [old, new]}), source
incident_updated = _signals.signal("incident-updated")
#: kwargs: session, incident, update, source
key_events_updated = _signals.signal("key-events-updated")
#: kwargs: session, incident, actor_id
postmortem_requested = _signals.signal("postmortem-requested")
