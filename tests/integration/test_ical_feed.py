"""Calendar apps fetch a schedule's feed with its token, no Bearer key."""

from __future__ import annotations

import icalendar
from yarl import URL

from .conftest import Api
from .test_alerts_api import new_user


async def test_feed_url_works_without_a_key_and_only_for_its_schedule(api: Api) -> None:
    ann = await new_user(api, "ann")
    layer = {
        "name": "l",
        "startsOn": "2026-01-05T09:00:00Z",
        "users": [{"id": ann}],
        "rotation": "P7D",
    }
    created = []
    for name in ("first", "second"):
        status, schedule = await api.call(
            "POST",
            "/api/schedules",
            json={
                "name": name,
                "timezone": "Europe/Berlin",
                "type": "RECURRING",
                "scheduleLayers": [layer],
            },
        )
        assert status == 201, schedule
        created.append(schedule)
    status, first = await api.call("GET", f"/api/schedules/{created[0]['id']}")
    assert status == 200
    feed = URL(first["icalUrl"])
    assert feed.path == f"/api/schedules/{first['id']}/ical" and feed.query["token"]

    status, text = await api.call("GET", feed.path, params={"token": feed.query["token"]}, key=None)
    assert status == 200
    calendar = icalendar.Calendar.from_ical(text)
    assert any(part.name == "VEVENT" for part in calendar.walk())

    other = f"/api/schedules/{created[1]['id']}/ical"
    assert (await api.call("GET", other, params={"token": feed.query["token"]}, key=None))[0] == 401
    assert (await api.call("GET", feed.path, params={"token": "0" * 40}, key=None))[0] == 401
    assert (await api.call("GET", feed.path, key=None))[0] == 401
    assert (
        await api.call(
            "GET", f"/api/schedules/{first['id']}", params={"token": feed.query["token"]}, key=None
        )
    )[0] == 401
