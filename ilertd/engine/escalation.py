"""Which escalation step comes next: pure, so the rules are tested without a database.

A policy is a list of levels (users and schedules, each with a timeout). Escalating means:
page the next level that has somebody on call now, and set the timer for the one after it.
A level with nobody on call is passed over at once. After the last level a repeating policy
starts again at level 0, up to ``frequency`` rounds in all; a LOW priority alert stays on
the first level. When no level in any remaining round has anybody, escalation ends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Level:
    timeout_s: int
    users: tuple[int, ...] = ()
    schedules: tuple[int, ...] = ()


@dataclass(frozen=True)
class Policy:
    levels: tuple[Level, ...]
    repeating: bool = False
    frequency: int = 1
    delay_min: int = 0

    @property
    def rounds(self) -> int:
        return max(self.frequency, 1) if self.repeating else 1


@dataclass(frozen=True)
class Step:
    """Escalate to ``level`` (in ``round``) paging ``responders``; the next step is due at
    ``next_at`` (None: this is the last one). ``skipped`` lists levels nobody covered."""

    level: int
    round: int
    responders: tuple[int, ...]
    next_at: datetime | None
    skipped: tuple[int, ...] = field(default=())


@dataclass(frozen=True)
class Ended:
    """Nothing more to do; ``reason`` goes on the timeline."""

    reason: str
    skipped: tuple[int, ...] = ()


OnCall = Callable[[int], int | None]
"""schedule id -> the user on call in it now (None: nobody, or no such schedule)."""


def responders_of(level: Level, on_call: OnCall) -> tuple[int, ...]:
    """The level's users, then whoever is on call in its schedules; no duplicates."""
    found: list[int] = list(dict.fromkeys(level.users))
    for schedule in level.schedules:
        user = on_call(schedule)
        if user is not None and user not in found:
            found.append(user)
    return tuple(found)


def next_step(
    policy: Policy,
    start_level: int,
    start_round: int,
    now: datetime,
    on_call: OnCall,
    *,
    low_priority: bool = False,
) -> Step | Ended:
    """The first level from (start_level, start_round) with somebody on call."""
    if not policy.levels:
        return Ended("the escalation policy has no levels")
    skipped: list[int] = []
    level, round_ = start_level, start_round
    while round_ < policy.rounds:
        if level >= len(policy.levels):
            level, round_ = 0, round_ + 1
            continue
        if low_priority and (level > 0 or round_ > 0):
            break
        responders = responders_of(policy.levels[level], on_call)
        if responders:
            has_more = not low_priority and (
                level + 1 < len(policy.levels) or round_ + 1 < policy.rounds
            )
            next_at = now + timedelta(seconds=policy.levels[level].timeout_s) if has_more else None
            return Step(level, round_, responders, next_at, tuple(skipped))
        skipped.append(level)
        level += 1
    if skipped:
        return Ended("nobody is on call in the remaining escalation levels", tuple(skipped))
    return Ended("the escalation policy has no further levels")


def first_due(policy: Policy, created_at: datetime) -> datetime:
    """When level 0 is paged: at once, or after the policy's delayed start."""
    return created_at + timedelta(minutes=policy.delay_min)
