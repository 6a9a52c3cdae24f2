"""Shift reminders, pure: which are due when, and what they say on each channel.

A user's ``duties`` rule with ``before_min`` N asks for a reminder N minutes before each of
their on-call shifts starts: the reminder is due from ``start - N`` until the shift starts,
and a shift already running when that window opens gets none (``before_min`` 0 means "at
the start": due for ``AT_START_GRACE`` after it). A shift is what ``ilertd.oncall.shifts``
gives, so adjacent pieces of one user are one shift and remind once.

Schedule names are user input: every text here is sanitized with ``one_line`` and
``truncate``, so a name cannot add lines to an SMS or headers to an e-mail.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from ilertd.oncall import Schedule, Shift

from .page import TITLE_MAX, one_line, truncate

#: A rule with ``before_min`` 0 reminds at the shift start, or this long after it at most.
AT_START_GRACE = timedelta(minutes=5)
#: Shifts are looked at this much beyond the longest ``before_min`` (and before the grace),
#: so a window that opens before the next round is already known: keep it above a round.
WINDOW_MARGIN = timedelta(minutes=1)
NAME_MAX = 80
NO_NAME = "(unnamed schedule)"


@dataclass(frozen=True)
class DutyRule:
    """One ``duties`` rule of a user, with where it sends (a contact, or a push topic)."""

    rule_id: int
    method: str
    target: str
    before_min: int


@dataclass(frozen=True)
class DueReminder:
    """The reminder ``rule`` asks for before ``shift``; no attempt is made from ``closes``."""

    rule: DutyRule
    shift: Shift
    opens: datetime
    closes: datetime


def _opens_closes(rule: DutyRule, shift: Shift) -> tuple[datetime, datetime]:
    if rule.before_min <= 0:
        return shift.start, shift.start + AT_START_GRACE
    return shift.start - timedelta(minutes=rule.before_min), shift.start


def shift_window(now: datetime, rules: Iterable[DutyRule]) -> tuple[datetime, datetime]:
    """The interval whose shifts can have a reminder due now or within ``WINDOW_MARGIN``:
    from before the grace (a shift clipped at the start of the interval, i.e. running
    already, is then never due) to the longest ``before_min`` ahead."""
    ahead = max((rule.before_min for rule in rules), default=0)
    return (
        now - AT_START_GRACE - WINDOW_MARGIN,
        now + timedelta(minutes=ahead) + WINDOW_MARGIN,
    )


def due_reminders(
    shifts: Iterable[Shift], rules: Mapping[int, Sequence[DutyRule]], now: datetime
) -> list[DueReminder]:
    """The (rule, shift) reminders due at ``now``: ``opens <= now < closes``. ``rules`` maps
    a user id to that user's rules; shifts of other users are ignored. Whether a reminder
    was sent already is the caller's question (the reminders' stream)."""
    due = []
    for shift in shifts:
        for rule in rules.get(shift.user_id, ()):
            opens, closes = _opens_closes(rule, shift)
            if opens <= now < closes:
                due.append(DueReminder(rule, shift, opens, closes))
    return due


def next_opening(
    shifts: Iterable[Shift], rules: Mapping[int, Sequence[DutyRule]], now: datetime
) -> datetime | None:
    """The earliest moment after ``now`` at which one of these reminders becomes due."""
    openings = [
        opens
        for shift in shifts
        for rule in rules.get(shift.user_id, ())
        if (opens := _opens_closes(rule, shift)[0]) > now
    ]
    return min(openings, default=None)


def schedule_users(schedule: Schedule) -> frozenset[int]:
    """Everyone who can be on call in ``schedule``: its layers', static shifts' and
    overrides' users (a schedule with none of the users of interest needs no shifts)."""
    users: set[int] = {shift.user_id for shift in schedule.overrides}
    if schedule.static_shifts is not None:
        users.update(shift.user_id for shift in schedule.static_shifts)
    else:
        for layer in schedule.layers:
            users.update(layer.users)
    return frozenset(users)


# --- wording ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShiftReminder:
    """What a reminder of the shift [start, end) in schedule ``schedule_name`` says at
    ``now``; times are shown in ``zone`` (the schedule's)."""

    schedule_name: str
    start: datetime
    end: datetime
    now: datetime
    zone: tzinfo = UTC
    schedule_url: str | None = None

    def name(self) -> str:
        return truncate(one_line(self.schedule_name), NAME_MAX) or NO_NAME

    def minutes_left(self) -> int:
        """Whole minutes until the start, rounded up; 0 once it has started."""
        return max(0, math.ceil((self.start - self.now).total_seconds() / 60))

    def at(self, instant: datetime) -> str:
        """``2026-11-22 10:00 CET``: the instant on the schedule's wall clock."""
        return instant.astimezone(self.zone).strftime("%Y-%m-%d %H:%M %Z").strip()

    def _in(self) -> str:
        left = self.minutes_left()
        return f"{left} minute" if left == 1 else f"{left} minutes"

    def push_title(self) -> str:
        """``On call in 15 min: Primary`` (or ``On call now: Primary``)."""
        left = self.minutes_left()
        when = f"in {left} min" if left else "now"
        return truncate(f"On call {when}: {self.name()}", TITLE_MAX)

    def email_subject(self) -> str:
        """``[ilertd] On call in 15 min: Primary``, without line breaks."""
        return truncate(f"[ilertd] {self.push_title()}", TITLE_MAX)

    def text(self) -> str:
        """The sentence every long form carries."""
        lead = f'Your on-call shift in schedule "{self.name()}"'
        if self.minutes_left():
            return (
                f"{lead} starts at {self.at(self.start)} (in {self._in()}) "
                f"and ends at {self.at(self.end)}."
            )
        return f"{lead} started at {self.at(self.start)} and ends at {self.at(self.end)}."

    def push_message(self) -> str:
        return self.text()

    def email_text(self) -> str:
        parts = [self.text()]
        if self.schedule_url:
            parts += ["", f"The schedule: {self.schedule_url}"]
        parts += ["", "-- ", "ilertd"]
        return "\n".join(parts) + "\n"

    def sms_text(self) -> str:
        """``[ilertd] On call in 15 min: Primary. Shift 2026-11-22 09:00 UTC to ...``."""
        return f"[ilertd] {self.push_title()}. Shift {self.at(self.start)} to {self.at(self.end)}."

    def voice_text(self) -> str:
        name = self.name()
        start = self.start.astimezone(self.zone).strftime("%H:%M %Z").strip()
        if self.minutes_left():
            return (
                f"This is ilertd. Your on-call shift in schedule {name} starts in "
                f"{self._in()}, at {start}."
            )
        return f"This is ilertd. Your on-call shift in schedule {name} started at {start}."
