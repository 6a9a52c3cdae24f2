"""/api/schedules and /api/on-calls over HTTP: CRUD, shifts across DST, overrides,
user-on-call, the iCal feed, roles, every 4xx writing nothing, and rebuild equals live."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import icalendar
import pytest

from ilertd.domain.user import User
from ilertd.security import hash_api_key

from .conftest import Api

BASE = "/api/schedules"
USER_KEY = "ilk_integration_schedule_user_key_012345"
#: A Monday in CET, the week before the 2026-03-29 spring-forward change in Berlin.
T0 = datetime(2026, 3, 23, 12, tzinfo=UTC)


class FakeClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


@pytest.fixture
async def people(api: Api) -> list[int]:
    """Three users (ids), Ann, Bob and Cat; the clock frozen at T0."""
    api.services.clock = FakeClock(T0)
    return [await add_user(api, name) for name in ("Ann", "Bob", "Cat")]


async def add_user(api: Api, first: str, role: str = "RESPONDER", key: str | None = None) -> int:
    user = User(
        username=first.lower(),
        email=f"{first.lower()}@x.test",
        role=role,
        first_name=first,
        last_name="Smith",
    )
    if key:
        user.issue_api_key(uuid.uuid4(), hash_api_key(key), "test")
    result = await api.runtime.repository.save(user, metadata={"actor": "test"})
    assert result is not None
    await api.settle()
    return result.first_position


def layer(users: list[int], **fields: Any) -> dict[str, Any]:
    return {
        "name": "primary",
        "startsOn": "2026-03-20T09:00:00+01:00",
        "users": [{"id": u} for u in users],
        "rotation": "P1D",
        **fields,
    }


def body(users: list[int], **fields: Any) -> dict[str, Any]:
    return {
        "name": "Ops",
        "timezone": "Europe/Berlin",
        "type": "RECURRING",
        "scheduleLayers": [layer(users)],
        **fields,
    }


async def create(api: Api, payload: dict[str, Any]) -> dict[str, Any]:
    status, answer = await api.call("POST", BASE, json=payload)
    assert status == 201, answer
    return answer


async def head(api: Api) -> int:
    return await api.runtime.store.head_position()


def starts(shifts: list[dict[str, Any]]) -> list[str]:
    return [shift["start"] for shift in shifts]


async def test_create_read_list_replace_delete(api: Api, people: list[int]) -> None:
    ann, bob, _ = people
    status, team = await api.call("POST", "/api/teams", json={"name": "ops"})
    assert status == 201, team
    schedule = await create(api, body([ann, bob], teams=[{"id": team["id"]}], id=999))
    assert schedule["id"] != 999 and schedule["name"] == "Ops"
    assert schedule["type"] == "RECURRING" and schedule["timezone"] == "Europe/Berlin"
    assert schedule["teams"] == [{"id": team["id"], "name": "ops"}] and schedule["shifts"] == []
    [created_layer] = schedule["scheduleLayers"]
    assert created_layer["startsOn"] == "2026-03-20T08:00:00.000Z"
    assert created_layer["rotation"] == "P1D" and created_layer["endsOn"] is None
    assert created_layer["users"][0] == {
        "id": ann,
        "firstName": "Ann",
        "lastName": "Smith",
        "username": "ann",
    }
    # T0 = Monday 13:00 CET; handoffs at 09:00 CET (08:00Z), Ann first on Friday the 20th
    assert schedule["currentShift"] == {
        "user": created_layer["users"][1],
        "start": "2026-03-23T08:00:00.000Z",
        "end": "2026-03-24T08:00:00.000Z",
    }
    assert schedule["nextShift"]["user"]["id"] == ann
    assert schedule["nextShift"]["start"] == "2026-03-24T08:00:00.000Z"

    row = await api.runtime.store.pool.fetchrow(
        "SELECT type, metadata::text AS metadata FROM events WHERE position = $1", schedule["id"]
    )
    assert row["type"] == "schedule-created" and "request_id" in row["metadata"]

    assert schedule["showGaps"] is False and schedule["defaultShiftDuration"] == "P7D"
    every = {"include": "scheduleLayers,shifts,currentShift,nextShift"}
    status, got = await api.call("GET", f"{BASE}/{schedule['id']}", params=every)
    assert status == 200 and got == schedule
    # without include, a schedule has none of the optional fields (as ilert answers)
    status, bare = await api.call("GET", f"{BASE}/{schedule['id']}")
    assert status == 200
    assert bare == {k: v for k, v in schedule.items() if k not in every["include"].split(",")}
    status, some = await api.call(
        "GET", f"{BASE}/{schedule['id']}", params=[("include", "nextShift"), ("include", "x")]
    )
    assert status == 200 and "nextShift" in some and "currentShift" not in some
    second = await create(api, body([bob], name="Second"))
    status, listed = await api.call("GET", BASE)
    assert status == 200 and [s["id"] for s in listed] == [schedule["id"], second["id"]]
    status, paged = await api.call("GET", BASE, params={"start-index": "1", "max-results": "1"})
    assert status == 200 and [s["id"] for s in paged] == [second["id"]]
    status, problem = await api.call("GET", BASE, params={"max-results": "101"})
    assert status == 400 and problem["field"] == "max-results"

    status, replaced = await api.call(
        "PUT", f"{BASE}/{schedule['id']}", json=body([bob], name="Renamed", timezone="UTC")
    )
    assert status == 200, replaced
    assert replaced["name"] == "Renamed" and replaced["timezone"] == "UTC"
    assert replaced["teams"] == schedule["teams"]  # absent teams are kept
    assert replaced["currentShift"]["user"]["id"] == bob
    position = await head(api)
    status, same = await api.call(
        "PUT", f"{BASE}/{schedule['id']}", json=body([bob], name="Renamed", timezone="UTC")
    )
    assert status == 200 and same == replaced and await head(api) == position

    status, _ = await api.call("DELETE", f"{BASE}/{schedule['id']}")
    assert status == 204
    for method in ("GET", "DELETE"):
        status, problem = await api.call(method, f"{BASE}/{schedule['id']}")
        assert status == 404 and problem["code"] == "NOT_FOUND"
    status, listed = await api.call("GET", BASE)
    assert [s["id"] for s in listed] == [second["id"]]


async def test_static_schedule(api: Api, people: list[int]) -> None:
    ann, bob, _ = people
    shifts = [
        {"user": {"id": ann}, "start": "2026-03-23T00:00:00Z", "end": "2026-03-23T18:00:00Z"},
        {"user": {"id": bob}, "start": "2026-03-23T18:00:00Z", "end": "2026-03-25T00:00:00Z"},
    ]
    schedule = await create(
        api, {"name": "Static", "timezone": "UTC", "type": "STATIC", "shifts": shifts}
    )
    assert schedule["scheduleLayers"] == []
    assert [s["user"]["id"] for s in schedule["shifts"]] == [ann, bob]
    assert schedule["currentShift"]["user"]["id"] == ann
    assert schedule["nextShift"]["end"] == "2026-03-25T00:00:00.000Z"


async def test_handoffs_follow_the_wall_clock_across_the_march_dst_change(
    api: Api, people: list[int]
) -> None:
    ann, bob, _ = people
    schedule = await create(api, body([ann, bob]))
    status, shifts = await api.call(
        "GET",
        f"{BASE}/{schedule['id']}/shifts",
        params={"from": "2026-03-27T00:00:00Z", "until": "2026-04-01T00:00:00Z"},
    )
    assert status == 200, shifts
    # 09:00 in Berlin is 08:00Z under CET (+01:00) and 07:00Z under CEST (+02:00) from the 29th
    assert starts(shifts) == [
        "2026-03-27T00:00:00.000Z",  # clipped to the window
        "2026-03-27T08:00:00.000Z",
        "2026-03-28T08:00:00.000Z",
        "2026-03-29T07:00:00.000Z",
        "2026-03-30T07:00:00.000Z",
        "2026-03-31T07:00:00.000Z",
    ]
    assert shifts[-1]["end"] == "2026-04-01T00:00:00.000Z"
    assert [s["user"]["id"] for s in shifts] == [ann, bob, ann, bob, ann, bob]
    assert shifts[3]["end"] == "2026-03-30T07:00:00.000Z"  # a 24-hour day of the wall clock
    assert shifts[2]["end"] == "2026-03-29T07:00:00.000Z"  # the 23-hour handoff day


async def test_shifts_window_defaults_and_parameter_errors(api: Api, people: list[int]) -> None:
    ann, bob, _ = people
    schedule = await create(api, body([ann, bob]))
    path = f"{BASE}/{schedule['id']}/shifts"
    status, shifts = await api.call("GET", path)
    assert status == 200
    assert shifts[0]["start"] == "2026-03-23T12:00:00.000Z"  # now
    assert shifts[-1]["end"] == "2026-03-30T12:00:00.000Z"  # now + 7 days
    for params, field in [
        ({"from": "yesterday"}, "from"),
        ({"from": "2026-03-23"}, "from"),  # a date, no time
        ({"until": "2026-03-22T00:00:00Z"}, "until"),  # before from (now)
        ({"from": "2026-01-01T00:00:00Z", "until": "2027-03-01T00:00:00Z"}, "until"),
        ({"exclude-overrides": "maybe"}, "exclude-overrides"),
        ({"from": "9999-12-31T00:00:00Z"}, "from"),
    ]:
        status, problem = await api.call("GET", path, params=params)
        assert status == 400, (params, problem)
        assert problem["field"] == field and problem["message"].startswith(f"{field}: ")
    # without an offset: the schedule's wall clock (Berlin, CET)
    status, shifts = await api.call("GET", path, params={"from": "2026-03-23T10:00"})
    assert status == 200 and shifts[0]["start"] == "2026-03-23T09:00:00.000Z"
    status, _ = await api.call("GET", f"{BASE}/123456789/shifts")
    assert status == 404
    status, _ = await api.call("GET", f"{BASE}/not-a-number/shifts")
    assert status == 404


async def test_overrides_win_and_can_be_excluded(api: Api, people: list[int]) -> None:
    ann, bob, cat = people
    schedule = await create(api, body([ann, bob]))
    path = f"{BASE}/{schedule['id']}/overrides"
    status, overrides = await api.call("GET", path)
    assert status == 200 and overrides == []
    override = {"user": {"id": cat}, "start": "2026-03-23T10:00:00Z", "end": "2026-03-23T14:00Z"}
    status, answer = await api.call("POST", path, json=override)
    assert status == 200, answer  # the whole schedule, as ilert-go reads it
    assert answer["id"] == schedule["id"] and answer["currentShift"]["user"]["id"] == cat
    status, overrides = await api.call("GET", path)
    assert status == 200 and len(overrides) == 1
    [added] = overrides
    assert added["user"]["firstName"] == "Cat" and added["end"] == "2026-03-23T14:00:00.000Z"

    status, on_call = await api.call("GET", f"{BASE}/{schedule['id']}/user-on-call")
    assert status == 200 and on_call["user"]["id"] == cat
    assert on_call["start"] == "2026-03-23T10:00:00.000Z"
    window = {"from": "2026-03-23T08:00:00Z", "until": "2026-03-23T20:00:00Z"}
    status, shifts = await api.call("GET", f"{BASE}/{schedule['id']}/shifts", params=window)
    assert [(s["user"]["id"], s["start"][11:16], s["end"][11:16]) for s in shifts] == [
        (bob, "08:00", "10:00"),
        (cat, "10:00", "14:00"),
        (bob, "14:00", "20:00"),
    ]
    status, shifts = await api.call(
        "GET",
        f"{BASE}/{schedule['id']}/shifts",
        params={**window, "exclude-overrides": "true"},
    )
    assert [s["user"]["id"] for s in shifts] == [bob]

    # a PUT of the schedule keeps the overrides
    status, _ = await api.call("PUT", f"{BASE}/{schedule['id']}", json=body([ann, bob], name="X"))
    assert status == 200
    status, overrides = await api.call("GET", path)
    assert overrides == [added]

    replacement = [
        {"user": {"id": ann}, "start": "2026-03-23T09:00:00+01:00", "end": "2026-03-23T09:30Z"}
    ]
    status, replaced = await api.call("PUT", path, json=replacement)
    assert status == 200 and [o["user"]["id"] for o in replaced] == [ann]
    assert replaced[0]["start"] == "2026-03-23T08:00:00.000Z"
    status, overrides = await api.call("GET", path)
    assert overrides == replaced
    status, cleared = await api.call("PUT", path, json=[])
    assert status == 200 and cleared == []


async def test_override_errors_write_nothing(api: Api, people: list[int]) -> None:
    ann, bob, _ = people
    schedule = await create(api, body([ann, bob]))
    path = f"{BASE}/{schedule['id']}/overrides"
    good = {"user": {"id": ann}, "start": "2026-03-23T10:00:00Z", "end": "2026-03-23T14:00:00Z"}
    position = await head(api)
    for method, payload, field in [
        ("POST", {**good, "user": {"id": 424242}}, "user"),
        ("POST", {**good, "user": None}, "user"),
        ("POST", {**good, "end": "2026-03-23T09:00:00Z"}, "end"),
        ("POST", {**good, "start": "2026-03-23"}, "start"),
        ("POST", {**good, "start": "2026-13-23T10:00"}, "start"),
        ("POST", [good], "body"),
        ("PUT", {"user": good["user"]}, "body"),
        ("PUT", [good, {**good, "user": {"id": 424242}}], "[1].user"),
        ("PUT", [good, {**good, "start": 5}], "[1].start"),
    ]:
        status, problem = await api.call(method, path, json=payload)
        assert status == 400, (payload, problem)
        assert problem["field"] == field, problem
    status, problem = await api.call("POST", path, data=b"{not json", headers={})
    assert status == 400
    status, _ = await api.call("POST", f"{BASE}/999999999/overrides", json=good)
    assert status == 404
    assert await head(api) == position


async def test_user_on_call_is_204_when_nobody_is(api: Api, people: list[int]) -> None:
    ann, _, _ = people
    status, problem = await api.call(
        "POST", BASE, json=body([ann], scheduleLayers=[layer([ann], startsOn="2027-01-01")])
    )
    assert status == 400 and problem["field"] == "scheduleLayers[0].startsOn"
    schedule = await create(
        api, body([ann], scheduleLayers=[layer([ann], startsOn="2027-01-01T00:00:00Z")])
    )
    status, answer = await api.call("GET", f"{BASE}/{schedule['id']}/user-on-call")
    assert status == 204 and answer is None
    assert schedule["currentShift"] is None
    assert schedule["nextShift"]["start"] == "2027-01-01T00:00:00.000Z"
    weekdays = await create(
        api,
        body(
            [ann],
            scheduleLayers=[
                layer(
                    [ann],
                    restrictionType="TIME_OF_WEEK",
                    restrictions=[
                        {
                            "from": {"dayOfWeek": "TUESDAY", "time": "09:00"},
                            "to": {"dayOfWeek": "TUESDAY", "time": "17:00"},
                        }
                    ],
                )
            ],
        ),
    )
    assert weekdays["scheduleLayers"][0]["restrictionType"] == "TIME_OF_WEEK"  # as sent
    status, _ = await api.call("GET", f"{BASE}/{weekdays['id']}/user-on-call")
    assert status == 204  # Monday
    api.services.clock = FakeClock(datetime(2026, 3, 24, 10, tzinfo=UTC))  # Tuesday 11:00 CET
    status, answer = await api.call("GET", f"{BASE}/{weekdays['id']}/user-on-call")
    assert status == 200 and answer["user"]["username"] == "ann"
    assert (answer["start"], answer["end"]) == (
        "2026-03-24T08:00:00.000Z",
        "2026-03-24T16:00:00.000Z",
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": ""}, "name"),
        ({"timezone": "Europe/Nowhere"}, "timezone"),
        ({"type": "HOURLY"}, "type"),
        ({"scheduleLayers": []}, "scheduleLayers"),
        ({"scheduleLayers": {"a": 1}}, "scheduleLayers"),
        ({"scheduleLayers": [None]}, "scheduleLayers[0]"),
        ({"scheduleLayers": "__rotation:P1Y"}, "scheduleLayers[0].rotation"),
        ({"scheduleLayers": "__rotation:PT5M"}, "scheduleLayers[0].rotation"),
        ({"scheduleLayers": "__users:[]"}, "scheduleLayers[0].users"),
        ({"scheduleLayers": "__users:unknown"}, "scheduleLayers[0].users[1]"),
        ({"scheduleLayers": "__endsOn:early"}, "scheduleLayers[0].endsOn"),
        ({"scheduleLayers": "__restriction:bad"}, "scheduleLayers[0].restrictions[0].to.time"),
        ({"type": "STATIC", "shifts": [{"user": {"id": 1}}]}, "shifts[0].start"),
        ({"teams": "x"}, "teams"),
    ],
)
async def test_bad_fields_are_400_naming_them_and_write_nothing(
    api: Api, people: list[int], change: dict[str, Any], field: str
) -> None:
    ann, bob, _ = people
    payload = body([ann, bob])
    special = change.get("scheduleLayers")
    if isinstance(special, str) and special.startswith("__"):
        key, _, value = special[2:].partition(":")
        bad = layer([ann, bob])
        if key == "rotation":
            bad["rotation"] = value
        elif key == "users":
            bad["users"] = [] if value == "[]" else [{"id": ann}, {"id": 987654}]
        elif key == "endsOn":
            bad["endsOn"] = "2026-03-01T00:00:00Z"
        elif key == "restriction":
            bad["restrictions"] = [
                {
                    "from": {"dayOfWeek": "MONDAY", "time": "09:00"},
                    "to": {"dayOfWeek": "MONDAY", "time": "9am"},
                }
            ]
        change = {"scheduleLayers": [bad]}
    payload.update(change)
    position = await head(api)
    status, problem = await api.call("POST", BASE, json=payload)
    assert status == 400, problem
    assert problem["field"] == field and problem["message"].startswith(f"{field}: ")
    existing = await create(api, body([ann]))
    position = await head(api)
    status, problem = await api.call("PUT", f"{BASE}/{existing['id']}", json=payload)
    assert status == 400 and problem["field"] == field
    assert await head(api) == position


async def test_deleted_users_cannot_be_scheduled(api: Api, people: list[int]) -> None:
    ann, bob, _ = people
    status, _ = await api.call("DELETE", f"/api/users/{bob}")
    assert status == 204
    status, problem = await api.call("POST", BASE, json=body([ann, bob]))
    assert status == 400 and problem["field"] == "scheduleLayers[0].users[1]"


async def test_roles_readers_read_only_admins_write(api: Api, people: list[int]) -> None:
    ann, _, _ = people
    await add_user(api, "Reader", role="USER", key=USER_KEY)
    schedule = await create(api, body([ann]))
    sid = schedule["id"]
    for path in (
        BASE,
        f"{BASE}/{sid}",
        f"{BASE}/{sid}/shifts",
        f"{BASE}/{sid}/overrides",
        f"{BASE}/{sid}/user-on-call",
        f"{BASE}/{sid}/ical",
        "/api/on-calls",
    ):
        status, _ = await api.call("GET", path, key=USER_KEY)
        assert status == 200, path
        status, _ = await api.call("GET", path, key=None)
        assert status == 401, path
    position = await head(api)
    override = {"user": {"id": ann}, "start": "2026-03-23T10:00:00Z", "end": "2026-03-23T11:00Z"}
    for method, path, payload in [
        ("POST", BASE, body([ann])),
        ("PUT", f"{BASE}/{sid}", body([ann])),
        ("DELETE", f"{BASE}/{sid}", None),
        ("POST", f"{BASE}/{sid}/overrides", override),
        ("PUT", f"{BASE}/{sid}/overrides", [override]),
    ]:
        status, problem = await api.call(method, path, json=payload, key=USER_KEY)
        assert status == 403, (method, path, problem)
    assert await head(api) == position


async def test_on_calls_over_schedules_policies_users_and_windows(
    api: Api, people: list[int]
) -> None:
    ann, bob, cat = people
    first = await create(api, body([ann, bob]))
    second = await create(
        api,
        {
            "name": "Static",
            "timezone": "UTC",
            "type": "STATIC",
            "shifts": [
                {"user": {"id": cat}, "start": "2026-03-23T00:00Z", "end": "2026-03-24T00:00Z"}
            ],
        },
    )
    status, now = await api.call("GET", "/api/on-calls")
    assert status == 200
    assert [(e["schedule"], e["user"]["id"]) for e in now] == [
        ({"id": second["id"], "name": "Static"}, cat),
        ({"id": first["id"], "name": "Ops"}, bob),
    ]
    assert now[1]["start"] == "2026-03-23T08:00:00.000Z"
    assert now[1]["end"] == "2026-03-24T08:00:00.000Z"
    status, only = await api.call("GET", "/api/on-calls", params={"schedules": str(first["id"])})
    assert [e["schedule"]["id"] for e in only] == [first["id"]]
    status, only = await api.call("GET", "/api/on-calls", params={"users": f"{cat},{ann}"})
    assert [e["user"]["id"] for e in only] == [cat]
    window = {"from": "2026-03-23T00:00:00Z", "until": "2026-03-25T00:00:00Z"}
    status, entries = await api.call(
        "GET", "/api/on-calls", params={**window, "schedules": str(first["id"])}
    )
    assert status == 200
    assert [(e["user"]["id"], e["start"], e["end"]) for e in entries] == [
        (ann, "2026-03-23T00:00:00.000Z", "2026-03-23T08:00:00.000Z"),
        (bob, "2026-03-23T08:00:00.000Z", "2026-03-24T08:00:00.000Z"),
        (ann, "2026-03-24T08:00:00.000Z", "2026-03-25T00:00:00.000Z"),
    ]
    status, policy = await api.call(
        "POST",
        "/api/escalation-policies",
        json={
            "name": "Via schedule",
            "escalationRules": [
                {"escalationTimeout": 5, "users": [], "schedules": [{"id": second["id"]}]}
            ],
        },
    )
    assert status == 201, policy
    status, entries = await api.call("GET", "/api/on-calls", params={"policies": str(policy["id"])})
    assert status == 200 and [e["schedule"]["id"] for e in entries] == [second["id"]]
    for params, field in [
        ({"schedules": "x"}, "schedules"),
        ({"policies": "-1"}, "policies"),
        ({"users": "1.5"}, "users"),
        ({"from": "2026-03-23"}, "from"),
        ({"from": "2026-01-01T00:00:00Z", "until": "2027-06-01T00:00:00Z"}, "until"),
    ]:
        status, problem = await api.call("GET", "/api/on-calls", params=params)
        assert status == 400 and problem["field"] == field, (params, problem)


async def test_ical_feed_parses_and_lists_the_same_shifts(api: Api, people: list[int]) -> None:
    ann, bob, cat = people
    schedule = await create(api, body([ann, bob], name="Ops, night; \\ team"))
    override = {"user": {"id": cat}, "start": "2026-03-25T10:00:00Z", "end": "2026-03-25T14:00Z"}
    status, _ = await api.call("POST", f"{BASE}/{schedule['id']}/overrides", json=override)
    assert status == 200
    async with api.session.get(
        api.url(f"{BASE}/{schedule['id']}/ical"),
        headers={"Authorization": f"Bearer {api.key}"},
    ) as response:
        assert response.status == 200
        assert response.content_type == "text/calendar"
        raw = await response.read()
    assert b"\r\n" in raw and all(len(line) <= 75 for line in raw.split(b"\r\n"))
    assert b"\n" not in raw.replace(b"\r\n", b"")
    calendar = icalendar.Calendar.from_ical(raw)
    assert str(calendar["VERSION"]) == "2.0" and "PRODID" in calendar
    assert b"X-WR-CALNAME:Ops\\, night\\; \\\\ team\r\n" in raw  # TEXT escaping
    events = calendar.walk("VEVENT")
    status, shifts = await api.call(
        "GET",
        f"{BASE}/{schedule['id']}/shifts",
        params={
            "from": (T0 - timedelta(days=7)).isoformat(),
            "until": (T0 + timedelta(days=90)).isoformat(),
        },
    )
    assert status == 200 and len(events) == len(shifts) > 90
    names = {ann: "Ann Smith", bob: "Bob Smith", cat: "Cat Smith"}
    for event, shift in zip(events, shifts, strict=True):
        start, end = event.decoded("DTSTART"), event.decoded("DTEND")
        assert start.utcoffset() == timedelta(0) and end.utcoffset() == timedelta(0)
        assert start == datetime.fromisoformat(shift["start"])
        assert end == datetime.fromisoformat(shift["end"])
        assert str(event["SUMMARY"]) == f"On call: {names[shift['user']['id']]}"
        assert event.decoded("DTSTAMP") == T0
        assert str(event["DESCRIPTION"]).startswith("Ops, night; \\ team: ")
    assert len({str(e["UID"]) for e in events}) == len(events)
    assert b"DTSTART:20260325T100000Z" in raw
    # the UID of a shift is stable from one fetch to the next
    status, again = await api.call("GET", f"{BASE}/{schedule['id']}/ical")
    assert status == 200
    uids = [str(e["UID"]) for e in icalendar.Calendar.from_ical(again).walk("VEVENT")]
    assert uids == [str(e["UID"]) for e in events]


async def test_projection_rebuild_equals_live(api: Api, people: list[int]) -> None:
    ann, bob, cat = people
    one = await create(api, body([ann, bob]))
    two = await create(api, body([cat], name="Two"))
    override = {"user": {"id": cat}, "start": "2026-03-25T10:00:00Z", "end": "2026-03-25T14:00Z"}
    await api.call("POST", f"{BASE}/{one['id']}/overrides", json=override)
    await api.call("POST", f"{BASE}/{one['id']}/overrides", json=override)
    await api.call("PUT", f"{BASE}/{one['id']}/overrides", json=[override])
    await api.call("PUT", f"{BASE}/{one['id']}", json=body([bob], name="One"))
    await api.call("DELETE", f"{BASE}/{two['id']}")
    pool = api.runtime.store.pool
    query = "SELECT * FROM schedules ORDER BY id"
    live = [tuple(row) for row in await pool.fetch(query)]
    assert len(live) == 2
    await api.runtime.runner.rebuild("schedules")
    assert [tuple(row) for row in await pool.fetch(query)] == live
