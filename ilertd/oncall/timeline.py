"""The final on-call timeline: later tracks paint over earlier ones, then merge."""

from __future__ import annotations

from datetime import datetime, timedelta

from .intervals import Piece, merge_same_user
from .layers import layer_pieces
from .model import Schedule, Shift
from .walltime import require_aware

#: on_call_at looks this far either side of t when no layer rotation is longer.
DEFAULT_SPAN = timedelta(days=1)


def shifts(
    schedule: Schedule, start: datetime, end: datetime, *, include_overrides: bool = True
) -> list[Shift]:
    """Sorted, disjoint shifts within [start, end); nobody on call means no shift.

    Priority, lowest first: layers in order (or static shifts in order), then overrides in
    order; where several have someone on call, the latest wins.
    """
    start, end = require_aware(start, "from"), require_aware(end, "until")
    if end < start:
        raise ValueError("until: must not be before from")
    if end == start:
        return []
    tracks = base_tracks(schedule, start, end)
    if include_overrides:
        tracks += [_clip([shift], start, end) for shift in schedule.overrides]
    return [Shift(user, s, e) for s, e, user in merge_same_user(paint(tracks))]


def uncovered(
    schedule: Schedule, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """The spans within [start, end) where nobody is on call, overrides left out."""
    spans: list[tuple[datetime, datetime]] = []
    cursor = require_aware(start, "from")
    for shift in shifts(schedule, start, end, include_overrides=False):
        if shift.start > cursor:
            spans.append((cursor, shift.start))
        cursor = max(cursor, shift.end)
    if cursor < end:
        spans.append((cursor, end))
    return spans


def on_call_at(schedule: Schedule, t: datetime) -> Shift | None:
    """The shift covering t, computed over [t - span, t + span] and so clipped to it.

    span is the longest layer rotation (at least one day): long enough to show the whole
    current rotation shift in the common case without computing unbounded history.
    """
    t = require_aware(t, "t")
    span = max([DEFAULT_SPAN, *(layer.rotation.delta for layer in schedule.layers)])
    for shift in shifts(schedule, t - span, t + span):
        if shift.covers(t):
            return shift
    return None


def base_tracks(schedule: Schedule, start: datetime, end: datetime) -> list[list[Piece]]:
    """One track per layer, or per static shift: each track's pieces are disjoint."""
    if schedule.static_shifts is not None:
        return [_clip([shift], start, end) for shift in schedule.static_shifts]
    zone = schedule.zone
    return [layer_pieces(layer, zone, start, end) for layer in schedule.layers]


def paint(tracks: list[list[Piece]]) -> list[Piece]:
    """Sweep over all boundaries; between two, the highest-priority active track wins."""
    events: list[tuple[datetime, int, int, int]] = []
    for priority, track in enumerate(tracks):
        for start, end, user in track:
            events.append((start, 1, priority, user))
            events.append((end, 0, priority, user))
    events.sort(key=lambda event: (event[0], event[1]))  # ends before starts at one instant
    active: dict[int, int] = {}
    pieces: list[Piece] = []
    i = 0
    while i < len(events):
        instant = events[i][0]
        while i < len(events) and events[i][0] == instant:
            _, is_start, priority, user = events[i]
            if is_start:
                active[priority] = user
            else:
                active.pop(priority, None)
            i += 1
        if active and i < len(events):
            pieces.append((instant, events[i][0], active[max(active)]))
    return pieces


def _clip(shifts_: list[Shift], start: datetime, end: datetime) -> list[Piece]:
    out: list[Piece] = []
    for shift in shifts_:
        s, e = max(shift.start, start), min(shift.end, end)
        if s < e:
            out.append((s, e, shift.user_id))
    return out


__all__ = ["on_call_at", "shifts", "uncovered"]
