"""Conversions between UTC instants and a zone's wall clock.

Rule for local times that do not map to exactly one instant (fold=0, as PEP 495):
- nonexistent (spring-forward gap): shifted forward by the gap, e.g. 02:30 in Berlin on the
  March change becomes 03:30 CEST;
- ambiguous (fall-back repeat): the first occurrence.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def load_zone(name: str) -> ZoneInfo:
    """The IANA zone, or a ValueError naming the field for the HTTP layer."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"timezone: unknown IANA zone {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError(f"timezone: unknown IANA zone {name!r}") from exc


def to_local(instant: datetime, zone: ZoneInfo) -> datetime:
    """The naive wall-clock reading of an aware instant in `zone`."""
    return instant.astimezone(zone).replace(tzinfo=None)


def to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant of a naive wall-clock time (gap -> forward, repeat -> first)."""
    return local.replace(tzinfo=zone, fold=0).astimezone(UTC)


def require_aware(value: object, field: str) -> datetime:
    """Naive datetimes are ambiguous across zones, so refuse them; return the UTC instant."""
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise ValueError(f"{field}: must be a timezone-aware datetime")
    return value.astimezone(UTC)
