"""One layer's on-call pieces: wall-clock handoffs, clipped to its restriction windows."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from .intervals import Piece, Span, intersect, union
from .model import Layer, Restriction
from .walltime import to_local, to_utc

WEEK = timedelta(days=7)
#: Handoffs looked at before the estimated one: DST offsets move local time by a few hours.
_MARGIN_STEPS = 3


def layer_pieces(layer: Layer, zone: ZoneInfo, start: datetime, end: datetime) -> list[Piece]:
    """Who this layer puts on call within [start, end), before other layers are applied."""
    low = max(start, layer.starts_on)
    high = end if layer.ends_on is None else min(end, layer.ends_on)
    if low >= high:
        return []
    pieces = rotation_pieces(layer, zone, low, high)
    if not layer.restrictions:
        return pieces
    return intersect(pieces, restriction_spans(layer.restrictions, zone, low, high))


def rotation_pieces(layer: Layer, zone: ZoneInfo, low: datetime, high: datetime) -> list[Piece]:
    """Handoff k is at wall clock local(starts_on) + k * rotation; user k mod len(users)."""
    origin = to_local(layer.starts_on, zone)
    step = layer.rotation.delta
    index = max(0, (to_local(low, zone) - origin) // step - _MARGIN_STEPS)
    handoff = to_utc(origin + index * step, zone)
    pieces: list[Piece] = []
    while handoff < high:
        # max(): never step backwards in UTC (only possible if a gap exceeded the rotation).
        following = max(handoff, to_utc(origin + (index + 1) * step, zone))
        piece_start, piece_end = max(handoff, low), min(following, high)
        if piece_start < piece_end:
            pieces.append((piece_start, piece_end, layer.users[index % len(layer.users)]))
        handoff, index = following, index + 1
    return pieces


def restriction_spans(
    restrictions: tuple[Restriction, ...], zone: ZoneInfo, low: datetime, high: datetime
) -> list[Span]:
    """The UTC spans, within [low, high), covered by any weekly window."""
    first = to_local(low, zone)
    # Start a week early so a window that wraps over the week end is not missed.
    week = datetime.combine(first.date() - timedelta(days=first.weekday()) - WEEK, time())
    last = to_local(high, zone)
    spans: list[Span] = []
    while week <= last:
        for restriction in restrictions:
            span_start, span_end = window(restriction, week, zone)
            span_start, span_end = max(span_start, low), min(span_end, high)
            if span_start < span_end:
                spans.append((span_start, span_end))
        week += WEEK
    return union(spans)


def window(restriction: Restriction, monday: datetime, zone: ZoneInfo) -> Span:
    """One week's occurrence of a window (opening in the week of `monday`) in UTC."""
    day = monday.date()
    opens = datetime.combine(day + timedelta(days=restriction.from_day), restriction.from_time)
    closes = datetime.combine(day + timedelta(days=restriction.to_day), restriction.to_time)
    if closes <= opens:
        closes += WEEK
    return to_utc(opens, zone), to_utc(closes, zone)
