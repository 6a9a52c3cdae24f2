"""Escalation policies and schedules as the pure engine and on-call models, read from their
read models and trusted for ``POLICY_TTL_S``.

A storm of alerts on one policy costs one policy query and one per schedule, not one each;
who is on call is still computed for the very moment of each step.
"""

from __future__ import annotations

import time

import asyncpg

from projections.escalation_policies import policy_by_id, policy_by_routing_key, policy_rules
from projections.schedules import oncall_schedule, schedule_by_id

from ..clock import Clock
from ..engine.escalation import Level, Policy
from ..oncall import on_call_at
from ..oncall.model import Schedule as OnCallSchedule

#: How long a looked-up escalation policy is trusted: edits reach new steps within this
#: time, and a burst of alerts on one policy costs one query, not one each.
POLICY_TTL_S = 2.0
#: Cached entries past which a cache starts over (ids are many only by mistake or attack).
MAX_CACHED = 10_000


class Policies:
    def __init__(self, pool: asyncpg.Pool, clock: Clock) -> None:
        self.pool = pool
        self.clock = clock
        self._policies: dict[int, tuple[float, Policy | None]] = {}
        self._schedules: dict[int, tuple[float, OnCallSchedule | None]] = {}

    async def policy(self, policy_id: int | None) -> Policy | None:
        """The live escalation policy as the pure engine model (None: none or deleted)."""
        if policy_id is None:
            return None
        now = time.monotonic()
        cached = self._policies.get(policy_id)
        if cached is not None and now - cached[0] < POLICY_TTL_S:
            return cached[1]
        row = await policy_by_id(self.pool, policy_id)
        policy = None
        if row is not None:
            levels = tuple(
                Level(r["escalation_timeout_s"], tuple(r["users"]), tuple(r["schedules"]))
                for r in policy_rules(row)
            )
            policy = Policy(levels, row["repeating"], row["frequency"], row["delay_min"])
        if len(self._policies) > MAX_CACHED:
            self._policies.clear()
        self._policies[policy_id] = (now, policy)
        return policy

    async def policy_for(
        self, source: asyncpg.Record, given: int | None, routing_key: str | None
    ) -> int | None:
        """The policy an alert starts on: ``given`` by hand, picked by the event's
        routingKey (the live policy with that routing key), else the source's."""
        if given is not None:
            return given
        if routing_key:
            routed = await policy_by_routing_key(self.pool, routing_key)
            if routed is not None:
                return routed["id"]
        return source["escalation_policy_id"]

    async def schedule(self, schedule_id: int) -> OnCallSchedule | None:
        """A schedule as the on-call model (None: deleted)."""
        now = time.monotonic()
        cached = self._schedules.get(schedule_id)
        if cached is not None and now - cached[0] < POLICY_TTL_S:
            return cached[1]
        row = await schedule_by_id(self.pool, schedule_id)
        schedule = oncall_schedule(row) if row is not None else None
        if len(self._schedules) > MAX_CACHED:
            self._schedules.clear()
        self._schedules[schedule_id] = (now, schedule)
        return schedule

    async def on_call(self, policy: Policy) -> dict[int, int]:
        """Who is on call now in each schedule the policy names."""
        now = self.clock.now()
        found: dict[int, int] = {}
        for schedule_id in {s for level in policy.levels for s in level.schedules}:
            schedule = await self.schedule(schedule_id)
            shift = on_call_at(schedule, now) if schedule is not None else None
            if shift is not None:
                found[schedule_id] = shift.user_id
        return found
