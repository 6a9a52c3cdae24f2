"""ISO-8601 durations (``PT5M``, ``P1DT2H``) as ilert's API carries them, to whole seconds.

Only days and smaller units: months and years have no fixed length, so a timeout cannot be
one. Output follows Java's ``Duration.toString`` (hours, never days: ``PT24H``) because that
is what ilert's own API answers and what its clients compare against.
"""

from __future__ import annotations

import re

#: Longer input is refused before the regex sees it.
MAX_TEXT = 64

_PATTERN = re.compile(
    r"P(?:(?P<w>\d{1,9})W)?(?:(?P<d>\d{1,9})D)?"
    r"(?:T(?:(?P<h>\d{1,9})H)?(?:(?P<m>\d{1,9})M)?(?:(?P<s>\d{1,12})S)?)?",
    re.IGNORECASE,
)
_UNIT_SECONDS = {"w": 604_800, "d": 86_400, "h": 3_600, "m": 60, "s": 1}


class DurationError(ValueError):
    """The text is not a duration this parser accepts; the message says why."""


def parse_duration(text: str) -> int:
    """Whole seconds of ``PnWnDTnHnMnS`` (each part optional, at least one present)."""
    if not isinstance(text, str):
        raise DurationError("must be an ISO-8601 duration string such as PT5M")
    candidate = text.strip()
    if len(candidate) > MAX_TEXT:
        raise DurationError(f"is longer than {MAX_TEXT} characters")
    match = _PATTERN.fullmatch(candidate)
    if match is None or not any(match.groupdict().values()) or candidate.upper().endswith("T"):
        raise DurationError(
            f"{candidate!r} is not an ISO-8601 duration of days, hours, minutes and whole "
            "seconds, such as PT5M, PT2H or P1DT12H"
        )
    return sum(
        int(value) * _UNIT_SECONDS[unit] for unit, value in match.groupdict().items() if value
    )


def format_duration(seconds: int) -> str:
    """``PT#H#M#S`` with zero parts left out, ``PT0S`` for nothing."""
    if seconds < 0:
        raise ValueError("durations here are never negative")
    hours, rest = divmod(seconds, 3_600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (secs, "S")) if n]
    return "PT" + ("".join(parts) or "0S")
