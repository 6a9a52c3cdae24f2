"""The ntfy publication built from a page, topic names and settings."""

from __future__ import annotations

import aiohttp
import pytest

from ilertd.notify.ntfy import NtfyClient, NtfySettings, check_topic, publication
from ilertd.notify.page import Page

LINKS = {
    "accept": "https://ilertd.example/r/acc.TOKEN",
    "resolve": "https://ilertd.example/r/res.TOKEN",
    "escalate": "https://ilertd.example/r/esc.TOKEN",
}


def make_page(**overrides: object) -> Page:
    fields: dict[str, object] = {
        "alert_id": 42,
        "summary": "disk full",
        "details": "/var is 98% full",
        "priority": "HIGH",
        "source_name": "Prometheus",
        "alert_url": "https://ilertd.example/alerts/42",
        "links": dict(LINKS),
    } | overrides
    return Page(**fields)  # type: ignore[arg-type]


def test_publication_for_a_high_priority_page() -> None:
    assert publication("oncall-jane", make_page()) == {
        "topic": "oncall-jane",
        "title": "HIGH #42: disk full",
        "message": "/var is 98% full\nSource: Prometheus",
        "priority": 5,
        "tags": ["rotating_light", "ilertd"],
        "click": "https://ilertd.example/alerts/42",
        "actions": [
            {
                "action": "http",
                "label": label,
                "url": LINKS[action],
                "method": "POST",
                "clear": True,
            }
            for action, label in [
                ("accept", "Accept"),
                ("resolve", "Resolve"),
                ("escalate", "Escalate"),
            ]
        ],
    }


def test_publication_for_a_low_priority_bundle_with_one_link() -> None:
    body = publication("t", make_page(priority="LOW", bundled=4, links={"accept": LINKS["accept"]}))
    assert body["priority"] == 3
    assert body["tags"][0] == "warning"
    assert [action["label"] for action in body["actions"]] == ["Accept all"]


@pytest.mark.parametrize("topic", ["a", "oncall_jane-2", "x" * 64])
def test_valid_topics(topic: str) -> None:
    check_topic(topic)


@pytest.mark.parametrize("topic", ["", "x" * 65, "a/b", "a b", "ä", "../admin", "a?b=1"])
def test_invalid_topics(topic: str) -> None:
    with pytest.raises(ValueError):
        check_topic(topic)


async def test_publish_refuses_a_bad_topic_before_any_request() -> None:
    async with aiohttp.ClientSession() as session:
        client = NtfyClient(session, NtfySettings("http://127.0.0.1:9"))
        with pytest.raises(ValueError):
            await client.publish("no/slashes", make_page())


def test_settings_repr_masks_the_token() -> None:
    settings = NtfySettings("https://ntfy.example", token="tk_secret123")
    assert "tk_secret123" not in repr(settings)
    assert repr(NtfySettings("https://ntfy.example")).endswith("token=None)")


@pytest.mark.parametrize(
    ("base_url", "token"),
    [("ntfy.example", None), ("https://u:p@ntfy.example", None), ("https://n.example", "")],
)
def test_settings_are_validated(base_url: str, token: str | None) -> None:
    with pytest.raises(ValueError):
        NtfySettings(base_url, token=token)
