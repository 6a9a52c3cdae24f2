"""The served status page's pure rules: worst wins, groups, day bars and uptime, open and
past incidents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from ilertd.status_site.view import (
    GroupRow,
    ServiceRow,
    day_bars,
    incidents,
    layout,
    worst,
)

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def test_the_worst_status_wins() -> None:
    assert worst([]) == "OPERATIONAL"
    assert worst(["DEGRADED", "UNDER_MAINTENANCE", "OPERATIONAL"]) == "DEGRADED"
    assert worst(["PARTIAL_OUTAGE", "MAJOR_OUTAGE"]) == "MAJOR_OUTAGE"


def test_a_day_bar_is_the_days_worst_status_and_outages_cost_uptime() -> None:
    start = NOW - timedelta(days=2, hours=1)  # the day before yesterday, 11:00
    intervals = [
        ("DEGRADED", start, start + timedelta(hours=1)),
        ("MAJOR_OUTAGE", start + timedelta(minutes=30), start + timedelta(minutes=30 + 216)),
        ("UNDER_MAINTENANCE", NOW - timedelta(hours=1), None),  # still on
    ]
    bars, uptime = day_bars(intervals, NOW, ZoneInfo("UTC"))
    assert len(bars) == 90 and bars[-1].day == NOW.date()
    assert bars[-3].status == "MAJOR_OUTAGE"
    assert bars[-2].status == "OPERATIONAL"
    assert bars[-1].status == "UNDER_MAINTENANCE"
    assert uptime == 99.833  # 3.6 hours down in 90 days, rounded down


def test_days_are_the_pages_local_days() -> None:
    # 23:30 UTC on 2 Dec is already 3 Dec in Berlin
    late = datetime(2026, 12, 2, 23, 30, tzinfo=UTC)
    bars, _ = day_bars(
        [("DEGRADED", late, late + timedelta(minutes=10))], NOW, ZoneInfo("Europe/Berlin")
    )
    assert bars[-1].status == "DEGRADED" and bars[-2].status == "OPERATIONAL"


def test_layout_follows_the_structure_then_the_rest() -> None:
    rows = {
        n: ServiceRow(n, f"s{n}", status)
        for n, status in ((1, "OPERATIONAL"), (2, "DEGRADED"), (3, "OPERATIONAL"))
    }
    settings = {
        "services": [1, 2, 3],
        "structure": [
            {
                "id": 7,
                "type": "GROUP",
                "options": ["expand"],
                "children": [{"id": 2, "type": "SERVICE", "options": ["no-graph"]}],
            },
            {"id": 3, "type": "SERVICE", "options": []},
        ],
    }
    shown = layout(settings, [{"id": 7, "name": "Backend"}], rows)
    assert isinstance(shown[0], GroupRow) and shown[0].status == "DEGRADED" and shown[0].expanded
    assert [s.id for s in shown[0].services] == [2]
    assert [e.id for e in shown[1:]] == [3, 1]
    # no structure: the services in their order; a service no longer live is left out
    plain = layout({"services": [3, 9, 1], "structure": []}, [], rows)
    assert [e.id for e in plain] == [3, 1]


def test_an_incident_is_open_until_a_status_update_resolves_it() -> None:
    def update(ident: int, incident: int, status: str, minutes: int) -> dict:
        return {
            "id": ident,
            "incident_id": incident,
            "status": status,
            "summary": f"incident {incident}",
            "message": None,
            "created_at": NOW - timedelta(minutes=minutes),
        }

    opened, past = incidents(
        [
            update(1, 10, "INVESTIGATING", 50),
            update(2, 10, "RESOLVED", 40),
            update(3, 11, "INVESTIGATING", 30),
            update(4, 11, "IDENTIFIED", 20),
        ]
    )
    assert [v.incident_id for v in opened] == [11] and opened[0].latest["status"] == "IDENTIFIED"
    assert [v.incident_id for v in past] == [10]
    assert [u["id"] for u in opened[0].updates] == [4, 3]
