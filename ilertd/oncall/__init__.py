"""Pure on-call computation: schedules to shifts, and who is on call at an instant.

Standard library only (no I/O), so the HTTP layer and the escalation engine can share it.
"""

from .model import Layer, Restriction, Schedule, Shift
from .rotation import Rotation
from .timeline import on_call_at, shifts, uncovered

__all__ = [
    "Layer",
    "Restriction",
    "Rotation",
    "Schedule",
    "Shift",
    "on_call_at",
    "shifts",
    "uncovered",
]
