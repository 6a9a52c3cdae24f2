"""ilert-go's schedule calls (schedule.go) and the Terraform provider's use of them
(resource_schedule.go, data_source_schedule.go), each body as ilert-go serialises its
structs: ``omitempty`` fields left out, ``"id": 0`` on create (Schedule.ID has no
omitempty), times as the provider's ``formatdate("YYYY-MM-DD'T'hh:mm:ss")`` writes them,
without an offset. Each answer is checked with the status ilert-go insists on and for the
fields the client reads back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest

from ..integration.conftest import Api
from ..integration.test_schedules_api import FakeClock, add_user

#: a Monday, 13:00 in Berlin (CET)
NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)
#: what the provider asks for when it reads a RECURRING schedule back
RECURRING_INCLUDES = [
    ("include", "scheduleLayers"),
    ("include", "nextShift"),
    ("include", "currentShift"),
]


@pytest.fixture
async def ann(api: Api) -> int:
    api.services.clock = FakeClock(NOW)
    return await add_user(api, "Ann")


def terraform_recurring(user: int, **layer: Any) -> dict[str, Any]:
    """buildSchedule's Schedule for the provider's documented RECURRING example."""
    return {
        "id": 0,
        "name": "example_recurring",
        "timezone": "Europe/Berlin",
        "type": "RECURRING",
        "scheduleLayers": [
            {
                "name": "layer1",
                "startsOn": "2026-03-02T09:00:00",
                "users": [{"id": user}],
                "rotation": "P1D",
                **layer,
            }
        ],
    }


async def test_create_schedule_naive_times_and_read_back_with_includes(api: Api, ann: int) -> None:
    """CreateSchedule (201, reads id) then GetSchedule with the provider's includes."""
    status, created = await api.call("POST", "/api/schedules", json=terraform_recurring(ann))
    assert status == 201, created
    assert isinstance(created["id"], int) and created["id"] > 0
    status, got = await api.call(
        "GET", f"/api/schedules/{created['id']}", params=RECURRING_INCLUDES
    )
    assert status == 200, got
    assert (got["name"], got["timezone"], got["type"]) == (
        "example_recurring",
        "Europe/Berlin",
        "RECURRING",
    )
    [layer] = got["scheduleLayers"]
    # 09:00 in Berlin in March (CET, +01:00), written in the one answer format
    assert layer["startsOn"] == "2026-03-02T08:00:00.000Z"
    assert layer["rotation"] == "P1D" and layer["users"][0]["id"] == ann
    assert got["currentShift"]["user"]["id"] == ann
    assert got["currentShift"]["start"] == "2026-03-02T08:00:00.000Z"
    assert got["nextShift"] is None  # one user hands off to nobody; Go reads a nil *Shift
    assert "shifts" not in got  # not asked for
    assert got["defaultShiftDuration"] == "P7D"  # Computed in the provider: always there
    # resourceScheduleExists: a GET without includes, only the status matters
    status, bare = await api.call("GET", f"/api/schedules/{created['id']}")
    assert status == 200 and "scheduleLayers" not in bare and "currentShift" not in bare


async def test_static_schedule_as_the_provider_sends_it(api: Api, ann: int) -> None:
    body = {
        "id": 0,
        "name": "example_static",
        "timezone": "Europe/Berlin",
        "type": "STATIC",
        "shifts": [
            {"user": {"id": ann}, "start": "2026-03-02T00:00:00", "end": "2026-03-03T00:00:00"}
        ],
    }
    status, created = await api.call("POST", "/api/schedules", json=body)
    assert status == 201, created
    status, got = await api.call(
        "GET", f"/api/schedules/{created['id']}", params={"include": "shifts"}
    )
    assert status == 200
    assert got["shifts"] == [
        {
            "user": got["shifts"][0]["user"],
            "start": "2026-03-01T23:00:00.000Z",
            "end": "2026-03-02T23:00:00.000Z",
        }
    ]
    assert got["shifts"][0]["user"]["id"] == ann and "scheduleLayers" not in got


@pytest.mark.parametrize("kind", ["TIME_OF_WEEK", "TIMES_OF_WEEK", "TIME_OF_DAY"])
async def test_restriction_types_are_echoed_as_sent(api: Api, ann: int, kind: str) -> None:
    """ilert-go's RestrictionType values and the provider's documented TIMES_OF_WEEK; a
    TIME_OF_DAY restriction as ilert-go sends it when no day is set (TimeOfWeek.DayOfWeek
    has no omitempty: an empty string)."""
    day = "" if kind == "TIME_OF_DAY" else "MONDAY"
    restriction = {
        "from": {"dayOfWeek": day, "time": "13:00"},
        "to": {"dayOfWeek": day, "time": "16:00"},
    }
    payload = terraform_recurring(ann, restrictionType=kind, restrictions=[restriction])
    status, created = await api.call("POST", "/api/schedules", json=payload)
    assert status == 201, created
    status, got = await api.call(
        "GET", f"/api/schedules/{created['id']}", params=RECURRING_INCLUDES
    )
    [layer] = got["scheduleLayers"]
    assert layer["restrictionType"] == kind
    assert [(r["from"]["time"], r["to"]["time"]) for r in layer["restrictions"]] == [
        ("13:00", "16:00")
    ]
    # Monday 13:00 CET: inside the window either way
    assert got["currentShift"]["start"] == "2026-03-02T12:00:00.000Z"
    assert got["currentShift"]["end"] == "2026-03-02T15:00:00.000Z"
    following = got["nextShift"]["start"]
    # every day (TIME_OF_DAY) or next Monday (a weekly window)
    assert following == (
        "2026-03-03T12:00:00.000Z" if kind == "TIME_OF_DAY" else "2026-03-09T12:00:00.000Z"
    )


async def test_show_gaps_and_default_shift_duration_round_trip(api: Api, ann: int) -> None:
    payload = {**terraform_recurring(ann), "showGaps": True, "defaultShiftDuration": "PT8H"}
    status, created = await api.call("POST", "/api/schedules", json=payload)
    assert status == 201
    assert created["showGaps"] is True and created["defaultShiftDuration"] == "PT8H"
    # UpdateSchedule, ShowGaps false is left out by omitempty
    update = {**terraform_recurring(ann), "defaultShiftDuration": "PT24H"}
    status, replaced = await api.call("PUT", f"/api/schedules/{created['id']}", json=update)
    assert status == 200
    assert replaced["showGaps"] is False and replaced["defaultShiftDuration"] == "PT24H"


async def test_abort_on_gaps_on_create_and_update(api: Api, ann: int) -> None:
    weekdays = {
        "from": {"dayOfWeek": "MONDAY", "time": "09:00"},
        "to": {"dayOfWeek": "FRIDAY", "time": "17:00"},
    }
    gappy = terraform_recurring(ann, restrictionType="TIME_OF_WEEK", restrictions=[weekdays])
    status, problem = await api.call("POST", "/api/schedules?abort-on-gaps=true", json=gappy)
    assert status == 400 and problem["field"] == "scheduleLayers"
    assert "nobody is on call from 2026-03-06T16:00:00.000Z" in problem["message"]
    status, created = await api.call("POST", "/api/schedules?abort-on-gaps=false", json=gappy)
    assert status == 201
    whole = terraform_recurring(ann)
    path = f"/api/schedules/{created['id']}"
    status, problem = await api.call("PUT", f"{path}?abort-on-gaps=true", json=gappy)
    assert status == 400 and problem["field"] == "scheduleLayers"
    status, replaced = await api.call("PUT", f"{path}?abort-on-gaps=true", json=whole)
    assert status == 200 and replaced["scheduleLayers"][0]["restrictions"] == []


async def test_add_override_answers_200_with_the_schedule(api: Api, ann: int) -> None:
    """AddScheduleShiftOverride: POST a Shift, 200, the body decoded as a Schedule."""
    bob = await add_user(api, "Bob")
    status, created = await api.call("POST", "/api/schedules", json=terraform_recurring(ann))
    path = f"/api/schedules/{created['id']}/overrides"
    shift = {"user": {"id": bob}, "start": "2026-03-02T12:00", "end": "2026-03-02T15:00"}
    status, schedule = await api.call("POST", path, json=shift)
    assert status == 200, schedule
    assert schedule["id"] == created["id"] and schedule["name"] == "example_recurring"
    assert schedule["currentShift"]["user"]["id"] == bob
    assert schedule["currentShift"]["start"] == "2026-03-02T11:00:00.000Z"
    # GetScheduleOverrides and GetScheduleUserOnCall
    status, overrides = await api.call("GET", path)
    assert status == 200 and [o["user"]["id"] for o in overrides] == [bob]
    status, on_call = await api.call("GET", f"/api/schedules/{created['id']}/user-on-call")
    assert status == 200 and on_call["user"]["id"] == bob


async def test_get_schedule_shifts_with_the_clients_window(api: Api, ann: int) -> None:
    status, created = await api.call("POST", "/api/schedules", json=terraform_recurring(ann))
    status, shifts = await api.call(
        "GET",
        f"/api/schedules/{created['id']}/shifts",
        params={
            "from": "2026-03-02T00:00",
            "until": "2026-03-04T00:00",
            "exclude-overrides": "false",
        },
    )
    assert status == 200
    assert [(s["start"], s["end"]) for s in shifts] == [
        ("2026-03-02T08:00:00.000Z", "2026-03-03T23:00:00.000Z")  # one user: one shift
    ]


async def test_search_schedule_by_name_and_delete(api: Api, ann: int) -> None:
    """SearchSchedule (the data source): GET /api/schedules/name/{name}; DeleteSchedule 204."""
    payload = {**terraform_recurring(ann), "name": "Ops night & day"}
    status, created = await api.call("POST", "/api/schedules", json=payload)
    assert status == 201
    status, found = await api.call("GET", f"/api/schedules/name/{quote('Ops night & day')}")
    assert status == 200 and found["id"] == created["id"]
    plain = {**terraform_recurring(ann), "name": "primary"}
    status, second = await api.call("POST", "/api/schedules", json=plain)
    status, found = await api.call("GET", "/api/schedules/name/primary")
    assert status == 200 and found["id"] == second["id"] and found["name"] == "primary"
    status, _ = await api.call("GET", "/api/schedules/name/nothing-like-it")
    assert status == 404
    status, _ = await api.call("DELETE", f"/api/schedules/{second['id']}")
    assert status == 204
    status, _ = await api.call("GET", "/api/schedules/name/primary")
    assert status == 404


async def test_schedule_team_blocks_as_the_provider_sends_them(api: Api, ann: int) -> None:
    """buildSchedule's ``team`` blocks (a TypeSet: any order; the API sorts by id) go as
    TeamShort ``{"id": n}`` plus the declared name; a config without them leaves the field
    out (omitempty) and keeps teams set elsewhere; dropped blocks send ``[]``."""
    ids = []
    for name in ("ops", "dev"):
        status, team = await api.call("POST", "/api/teams", json={"id": 0, "name": name})
        assert status == 201, team
        ids.append(team["id"])
    ops, dev = ids
    body = terraform_recurring(ann) | {"teams": [{"id": dev, "name": "dev"}, {"id": ops}]}
    status, created = await api.call("POST", "/api/schedules", json=body)
    assert status == 201, created
    assert created["teams"] == [{"id": ops, "name": "ops"}, {"id": dev, "name": "dev"}]
    url = f"/api/schedules/{created['id']}"
    status, kept = await api.call("PUT", url, json=terraform_recurring(ann))
    assert status == 200 and kept["teams"] == created["teams"]
    status, cleared = await api.call("PUT", url, json=terraform_recurring(ann) | {"teams": []})
    assert status == 200 and cleared["teams"] == []
