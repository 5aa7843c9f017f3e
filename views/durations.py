"""Times and durations as people read them in Slack: `45 s`, `12 min`, `2:05 h`, `1.5 d`, `14:30 UTC`."""

from __future__ import annotations

from datetime import UTC, datetime

MINUTE, HOUR, DAY = 60, 3600, 86400


def duration(seconds: float) -> str:
    """A duration in the largest unit that keeps it readable: seconds, minutes, hours (`h:mm` when the
    minutes matter) or days to a tenth."""
    whole = max(0, round(seconds))
    if whole < MINUTE:
        return f"{whole} s"
    if whole < HOUR:
        return f"{whole // MINUTE} min"
    if whole < DAY:
        hours, minutes = divmod(whole // MINUTE, 60)
        return f"{hours}:{minutes:02d} h" if minutes else f"{hours} h"
    days = f"{whole / DAY:.1f}".removesuffix(".0")
    return f"{days} d"


def clock(moment: datetime) -> str:
    """`HH:MM UTC`."""
    return moment.astimezone(UTC).strftime("%H:%M UTC")
