"""The kinds of timer (an alert's, a heartbeat monitor's): what the engine does when one falls due.

Defined once, here, because the timers projection writes them, the timer engine picks a
command by them and the metrics label by them. The values are what the ``timers`` table
stores (and timer names begin with), so they never change.
"""

from __future__ import annotations

from enum import StrEnum


class TimerKind(StrEnum):
    #: the alert resolves itself when no event arrived for its source's auto-resolve time
    AUTO_RESOLVE = "auto-resolve"
    #: the alert's next escalation step is due
    ESCALATE = "escalate"
    #: a heartbeat monitor's interval since its last recorded ping has passed
    HEARTBEAT = "heartbeat"

    def timer_name(self, stream_id: object) -> str:
        """The one timer of this kind a stream has (``escalate:<alert stream>``)."""
        return f"{self.value}:{stream_id}"
