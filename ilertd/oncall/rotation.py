"""Rotation lengths parsed from ISO-8601 durations, stepped in wall-clock time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

_ISO = re.compile(
    r"P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+)S)?)?"
)

#: Shorter rotations could hand off twice inside one DST gap and run backwards in UTC.
MIN_ROTATION = timedelta(hours=1)


@dataclass(frozen=True)
class Rotation:
    """A handoff interval: whole days plus seconds of local wall-clock time."""

    days: int = 0
    seconds: int = 0

    def __post_init__(self) -> None:
        if self.days < 0 or self.seconds < 0:
            raise ValueError("rotation: must not be negative")
        if self.delta < MIN_ROTATION:
            raise ValueError("rotation: must be at least PT1H")

    @classmethod
    def parse(cls, text: str) -> Rotation:
        """Parse `P7D`, `P1W`, `PT12H`...; months and years have no fixed length, so refuse."""
        if not isinstance(text, str):
            raise ValueError("rotation: expected an ISO-8601 duration string")
        iso = text.strip().upper()
        if "Y" in iso or "M" in iso.partition("T")[0]:
            raise ValueError(f"rotation: months and years are not supported: {text!r}")
        match = _ISO.fullmatch(iso)
        if match is None or iso in ("P", "") or iso.endswith("T"):
            raise ValueError(f"rotation: not an ISO-8601 duration: {text!r}")
        part = {k: int(v or 0) for k, v in match.groupdict().items()}
        return cls(
            days=part["w"] * 7 + part["d"],
            seconds=part["h"] * 3600 + part["m"] * 60 + part["s"],
        )

    @property
    def delta(self) -> timedelta:
        """The step to add to a naive local datetime (naive arithmetic = wall clock)."""
        return timedelta(days=self.days, seconds=self.seconds)

    def __str__(self) -> str:
        hours, rest = divmod(self.seconds, 3600)
        minutes, seconds = divmod(rest, 60)
        time = "".join(f"{n}{u}" for n, u in ((hours, "H"), (minutes, "M"), (seconds, "S")) if n)
        return "P" + (f"{self.days}D" if self.days else "") + (f"T{time}" if time else "")
