"""Half-open UTC interval helpers: (start, end) spans and (start, end, user) pieces."""

from __future__ import annotations

from datetime import datetime

Span = tuple[datetime, datetime]
Piece = tuple[datetime, datetime, int]


def union(spans: list[Span]) -> list[Span]:
    """Merge overlapping or touching spans so a layer never claims a moment twice."""
    out: list[Span] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def intersect(pieces: list[Piece], spans: list[Span]) -> list[Piece]:
    """Clip sorted, disjoint pieces to sorted, disjoint spans (two-pointer walk)."""
    out: list[Piece] = []
    i = j = 0
    while i < len(pieces) and j < len(spans):
        p_start, p_end, user = pieces[i]
        s_start, s_end = spans[j]
        start, end = max(p_start, s_start), min(p_end, s_end)
        if start < end:
            out.append((start, end, user))
        if p_end <= s_end:
            i += 1
        else:
            j += 1
    return out


def merge_same_user(pieces: list[Piece]) -> list[Piece]:
    """Join touching pieces of one user: a handoff to oneself is not a handoff."""
    out: list[Piece] = []
    for start, end, user in pieces:
        if out and out[-1][1] == start and out[-1][2] == user:
            out[-1] = (out[-1][0], end, user)
        else:
            out.append((start, end, user))
    return out
