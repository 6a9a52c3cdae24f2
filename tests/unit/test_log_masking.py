"""mask_target: the secret parts of request targets never reach a log line."""

from __future__ import annotations

import pytest
import structlog

from ilertd.logging import mask_secrets, mask_target

SECRET = "il1api0123456789abcdef"
TOKEN = "eyJhIjoxfQ.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    ("target", "masked"),
    [
        (f"/r/{TOKEN}", "/r/***"),
        (f"/api/alert-sources/{SECRET}", "/api/alert-sources/***"),
        (f"/api/alert-sources/{SECRET}/heartbeat", "/api/alert-sources/***/heartbeat"),
        (f"/api/v1/events/prtg/{SECRET}", "/api/v1/events/prtg/***"),
        (f"/api/v1/events/{SECRET}", "/api/v1/events/***"),
        (f"/api/events/mail/{SECRET}", "/api/events/mail/***"),
        ("/api/heartbeats/short", "/api/heartbeats/***"),
        ("/api/v1/heartbeats/short", "/api/v1/heartbeats/***"),
        (f"/api/schedules/3/ical?token={TOKEN}", "/api/schedules/3/ical?token=***"),
        (f"/api/schedules/3/ical?x=1&TOKEN={TOKEN}&y=2", "/api/schedules/3/ical?x=1&TOKEN=***&y=2"),
        (f"/api/x?integrationKey={SECRET}", "/api/x?integrationKey=***"),
        ("/api/x?q=ilk_abcdef", "/api/x?q=***"),
        ("/api/typo/ilk_abcdef", "/api/typo/***"),
        ("/api/typo/" + "k" * 40, "/api/typo/***"),
        (f"https://ilertd.example/r/{TOKEN}?sig=abc", "https://ilertd.example/r/***?sig=***"),
    ],
)
def test_secrets_are_masked(target: str, masked: str) -> None:
    assert mask_target(target) == masked


@pytest.mark.parametrize(
    "target",
    [
        "/api/alert-sources/12",
        "/api/alert-sources/12/x",
        "/api/events",
        "/api/v1/events",
        "/api/alerts?states=PENDING&max-results=50",
        "/api/users/current",
        "/healthz",
    ],
)
def test_ordinary_targets_are_kept(target: str) -> None:
    assert mask_target(target) == target


def test_the_processor_masks_every_path_and_url_field() -> None:
    with structlog.testing.capture_logs(processors=[mask_secrets]) as logs:
        structlog.get_logger("t").warning(
            "x", path=f"/r/{TOKEN}", url=f"http://h/api/v1/events/t/{SECRET}", other=1
        )
    (entry,) = logs
    assert TOKEN not in repr(entry) and SECRET not in repr(entry)
    assert entry["path"] == "/r/***" and entry["other"] == 1
