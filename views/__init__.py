"""Block Kit builders: modals and messages as pure functions from data to dicts."""
