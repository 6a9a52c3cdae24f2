"""/api/support-hours over real HTTP on a real PostgreSQL, and the priority the Events API
gives an alert of a source ruled by them, with the daemon's clock driven across Berlin's
spring-forward Sunday."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from .conftest import Api, running_api

BASE = "/api/support-hours"
#: Sunday 29 March 2026, the day Berlin's clocks go from 02:00 CET to 03:00 CEST
SPRING_SUNDAY = datetime(2026, 3, 29, tzinfo=UTC)


class FakeClock:
    """The daemon's one clock, moved by the test."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(SPRING_SUNDAY)


@pytest.fixture
async def capi(dsn: str, clock: FakeClock) -> AsyncIterator[Api]:
    async with running_api(dsn, clock=clock) as running:
        yield running


OFFICE = {
    "name": "Office",
    "timezone": "Europe/Berlin",
    "supportDays": {
        "MONDAY": {"start": "09:00", "end": "17:00"},
        "SUNDAY": {"start": "09:00", "end": "17:00"},
        "TUESDAY": None,
    },
    "exceptions": [
        {
            "name": "Christmas",
            "start": "2026-12-24",
            "end": "2026-12-26",
            "supportStatus": "OUTSIDE",
        }
    ],
}


async def create(api: Api, body: dict[str, Any] = OFFICE) -> dict[str, Any]:
    status, made = await api.call("POST", BASE, json=body)
    assert status == 201, made
    return made


async def test_crud_and_the_name_lookup(capi: Api) -> None:
    made = await create(capi)
    assert made["name"] == "Office" and made["timezone"] == "Europe/Berlin"
    assert made["supportDays"] == {
        "MONDAY": {"start": "09:00", "end": "17:00"},
        "TUESDAY": None,
        "WEDNESDAY": None,
        "THURSDAY": None,
        "FRIDAY": None,
        "SATURDAY": None,
        "SUNDAY": {"start": "09:00", "end": "17:00"},
    }
    assert made["exceptions"] == OFFICE["exceptions"] and made["teams"] == []
    status, read = await capi.call("GET", f"{BASE}/{made['id']}")
    assert status == 200 and read == made
    status, listed = await capi.call("GET", BASE)
    assert status == 200 and listed == [made]
    status, named = await capi.call("GET", f"{BASE}/name/Office")
    assert status == 200 and named == made
    status, _ = await capi.call("GET", f"{BASE}/name/Elsewhere")
    assert status == 404

    changed = {**OFFICE, "timezone": "America/New_York", "exceptions": None}
    status, replaced = await capi.call("PUT", f"{BASE}/{made['id']}", json=changed)
    assert status == 200, replaced
    assert replaced["timezone"] == "America/New_York" and replaced["exceptions"] == []
    status, read = await capi.call("GET", f"{BASE}/{made['id']}")
    assert status == 200 and read == replaced

    status, _ = await capi.call("DELETE", f"{BASE}/{made['id']}")
    assert status == 204
    status, _ = await capi.call("GET", f"{BASE}/{made['id']}")
    assert status == 404
    status, _ = await capi.call("DELETE", f"{BASE}/{made['id']}")
    assert status == 404


def monday(start: str, end: str) -> dict[str, Any]:
    return {"supportDays": {"MONDAY": {"start": start, "end": end}}}


def exception(start: str, end: str) -> dict[str, Any]:
    return {"exceptions": [{"start": start, "end": end, "supportStatus": "DURING"}]}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": None}, "timezone"),
        (monday("9:00", "17:00"), "supportDays.MONDAY.start"),
        (monday("09:00", "09:00"), "supportDays.MONDAY.end"),
        (exception("2026-12-24", "2026-12-23"), "exceptions[0].end"),
        (exception("2026-13-01", "2026-12-23"), "exceptions[0].start"),
    ],
)
async def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(
    capi: Api, changes: dict[str, Any], field: str
) -> None:
    status, problem = await capi.call("POST", BASE, json={**OFFICE, **changes})
    assert status == 400 and problem["field"] == field, problem
    made = await create(capi)
    status, problem = await capi.call("PUT", f"{BASE}/{made['id']}", json={**OFFICE, **changes})
    assert status == 400 and problem["field"] == field, problem
    status, listed = await capi.call("GET", BASE)
    assert status == 200 and listed == [made]


async def test_a_timezone_is_required(capi: Api) -> None:
    body = {key: value for key, value in OFFICE.items() if key != "timezone"}
    status, problem = await capi.call("POST", BASE, json=body)
    assert status == 400 and "timezone" in str(problem), problem


async def a_source(api: Api, rule: str, hours: int | None) -> dict[str, Any]:
    body: dict[str, Any] = {"name": f"src {rule}", "alertPriorityRule": rule}
    if hours is not None:
        body["supportHours"] = {"id": hours}
    status, made = await api.call("POST", "/api/alert-sources", json=body)
    assert status == 201, made
    return made


async def priority_of_event(api: Api, source: dict[str, Any], **extra: Any) -> str:
    event = {"integrationKey": source["integrationKey"], "eventType": "ALERT", "summary": "x"}
    status, answer = await api.call("POST", "/api/events", json={**event, **extra}, key=False)
    assert status == 202, answer
    status, alert = await api.call("GET", f"/api/alerts/{answer['alertId']}")
    assert status == 200, alert
    return alert["priority"]


async def test_events_get_high_during_support_hours_and_low_outside_across_dst(
    capi: Api, clock: FakeClock
) -> None:
    hours = await create(capi)
    high = await a_source(capi, "HIGH_DURING_SUPPORT_HOURS", hours["id"])
    low = await a_source(capi, "LOW_DURING_SUPPORT_HOURS", hours["id"])
    assert high["supportHours"] == {"id": hours["id"]}
    # the clocks went forward at 01:00 UTC: 09:00-17:00 CEST is 07:00-15:00 UTC
    for at, inside in [
        (datetime(2026, 3, 29, 6, 59, tzinfo=UTC), False),  # 08:59 CEST (07:59 in CET)
        (datetime(2026, 3, 29, 7, 30, tzinfo=UTC), True),  # 09:30 CEST (08:30 in CET)
        (datetime(2026, 3, 29, 14, 59, tzinfo=UTC), True),
        (datetime(2026, 3, 29, 15, 30, tzinfo=UTC), False),  # 17:30 CEST (16:30 in CET)
        (datetime(2026, 3, 28, 9, 0, tzinfo=UTC), False),  # a Saturday: no support
        (datetime(2026, 3, 30, 7, 0, tzinfo=UTC), True),  # Monday 09:00 CEST
        (datetime(2026, 12, 28, 8, 0, tzinfo=UTC), True),  # Monday 09:00 CET
        (datetime(2026, 12, 24, 8, 0, tzinfo=UTC), False),  # a Thursday: no support
        (datetime(2026, 12, 27, 8, 30, tzinfo=UTC), True),  # Sunday, after the exception
        (datetime(2026, 12, 20, 8, 30, tzinfo=UTC), True),  # a Sunday before it
    ]:
        clock.at = at
        assert await priority_of_event(capi, high) == ("HIGH" if inside else "LOW"), at
        assert await priority_of_event(capi, low) == ("LOW" if inside else "HIGH"), at
    clock.at = datetime(2026, 3, 29, 7, 30, tzinfo=UTC)
    assert await priority_of_event(capi, high, priority="LOW") == "LOW"  # the event's own wins


async def test_the_christmas_exception_overrides_a_sunday(capi: Api, clock: FakeClock) -> None:
    body = {**OFFICE, "exceptions": [{"start": "2026-12-20", "end": "2026-12-20",
            "supportStatus": "OUTSIDE"}]}  # fmt: skip
    hours = await create(capi, body)
    source = await a_source(capi, "HIGH_DURING_SUPPORT_HOURS", hours["id"])
    clock.at = datetime(2026, 12, 20, 8, 30, tzinfo=UTC)  # Sunday 09:30 CET
    assert await priority_of_event(capi, source) == "LOW"


async def test_a_change_applies_to_the_next_event(capi: Api, clock: FakeClock) -> None:
    hours = await create(capi)
    source = await a_source(capi, "HIGH_DURING_SUPPORT_HOURS", hours["id"])
    clock.at = datetime(2026, 3, 28, 9, 0, tzinfo=UTC)  # Saturday 10:00 CET
    assert await priority_of_event(capi, source) == "LOW"  # and now cached
    saturday = {**OFFICE["supportDays"], "SATURDAY": {"start": "08:00", "end": "12:00"}}
    status, _ = await capi.call(
        "PUT", f"{BASE}/{hours['id']}", json={**OFFICE, "supportDays": saturday}
    )
    assert status == 200
    assert await priority_of_event(capi, source) == "HIGH"


async def test_sources_refuse_missing_or_unknown_support_hours(capi: Api) -> None:
    body = {"name": "s", "alertPriorityRule": "HIGH_DURING_SUPPORT_HOURS"}
    status, problem = await capi.call("POST", "/api/alert-sources", json=body)
    assert status == 400 and problem["field"] == "supportHours", problem
    status, problem = await capi.call(
        "POST", "/api/alert-sources", json={**body, "supportHours": {"id": 987654}}
    )
    assert status == 400 and problem["field"] == "supportHours.id", problem
    status, sources = await capi.call("GET", "/api/alert-sources")
    assert status == 200 and sources == []


async def test_deleting_support_hours_a_source_uses_is_a_409(capi: Api) -> None:
    hours = await create(capi)
    source = await a_source(capi, "LOW_DURING_SUPPORT_HOURS", hours["id"])
    status, problem = await capi.call("DELETE", f"{BASE}/{hours['id']}")
    assert status == 409 and str(source["id"]) in problem["message"], problem
    status, read = await capi.call("GET", f"{BASE}/{hours['id']}")
    assert status == 200 and read == hours
    # the source stops using them: they may go
    status, _ = await capi.call(
        "PUT", f"/api/alert-sources/{source['id']}", json={"name": "s", "alertPriorityRule": "LOW"}
    )
    assert status == 200
    status, _ = await capi.call("DELETE", f"{BASE}/{hours['id']}")
    assert status == 204


async def test_a_source_may_name_only_support_hours_its_writer_sees(capi: Api) -> None:
    body = {"email": "tam@example.test", "firstName": "Tam", "lastName": "Lead", "role": "USER"}
    status, user = await capi.call("POST", "/api/users", json=body)
    assert status == 201, user
    status, issued = await capi.call("POST", f"/api/users/{user['id']}/api-keys", json={})
    assert status == 201, issued
    admins = [{"user": {"id": user["id"]}, "role": "ADMIN"}]
    status, mine = await capi.call("POST", "/api/teams", json={"name": "a", "members": admins})
    assert status == 201, mine
    status, hidden = await capi.call(
        "POST", "/api/teams", json={"name": "b", "visibility": "PRIVATE"}
    )
    assert status == 201, hidden
    theirs = await create(capi, {**OFFICE, "name": "theirs", "teams": [{"id": hidden["id"]}]})
    ours = await create(capi, {**OFFICE, "name": "ours", "teams": [{"id": mine["id"]}]})
    source = {
        "name": "team source",
        "teams": [{"id": mine["id"]}],
        "alertPriorityRule": "HIGH_DURING_SUPPORT_HOURS",
    }
    status, problem = await capi.call(
        "POST",
        "/api/alert-sources",
        json={**source, "supportHours": {"id": theirs["id"]}},
        key=issued["apiKey"],
    )
    assert status == 400 and problem["field"] == "supportHours.id", problem
    status, made = await capi.call(
        "POST",
        "/api/alert-sources",
        json={**source, "supportHours": {"id": ours["id"]}},
        key=issued["apiKey"],
    )
    assert status == 201 and made["supportHours"] == {"id": ours["id"]}, made
