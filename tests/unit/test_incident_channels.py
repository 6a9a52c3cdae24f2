"""Attaching chat channels to an incident, without a database."""

from __future__ import annotations

import pytest

from ilertd.domain.errors import DomainError, InvalidValueError
from ilertd.domain.incident import Incident
from ilertd.domain.incident_channel import ChannelType, posts_to

USER = {"type": "user", "id": 7}
SLACK = {"name": "#inc-db", "url": "https://acme.slack.com/archives/C01", "channel_type": "SLACK"}


def new_incident() -> Incident:
    return Incident.declare(number=1, title="db down", actor=USER)


def test_channels_are_numbered_per_incident_and_never_reused() -> None:
    incident = new_incident()
    first = incident.attach_channel(**SLACK, connector_id=5, actor=USER)
    incident.detach_channel(first, USER)
    second = incident.attach_channel(**SLACK, connector_id=5, actor=USER)
    assert (first, second) == (1, 2)
    assert list(incident.channels) == [2]
    assert incident.channels[2]["channel_type"] == "SLACK"
    names = [type(e).__name__ for e in incident.collect_events()]
    assert names == ["Declared", "ChannelAttached", "ChannelDetached", "ChannelAttached"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("channel_type", "IRC"), ("url", "ftp://x"), ("url", ""), ("name", "  ")],
)
def test_a_bad_channel_names_its_field(field: str, value: str) -> None:
    with pytest.raises(InvalidValueError) as error:
        new_incident().attach_channel(**{**SLACK, field: value}, connector_id=5, actor=USER)
    assert error.value.field == {"channel_type": "type"}.get(field, field)


def test_one_url_once_open_incidents_only_and_detach_of_unknown() -> None:
    incident = new_incident()
    incident.attach_channel(**SLACK, connector_id=5, actor=USER)
    with pytest.raises(DomainError, match="attached already"):
        incident.attach_channel(**SLACK, connector_id=6, actor=USER)
    with pytest.raises(DomainError, match="not attached"):
        incident.detach_channel(9, USER)
    incident.resolve(USER)
    with pytest.raises(DomainError, match="resolved"):
        incident.attach_channel(
            **{**SLACK, "url": "https://x.example/c"}, connector_id=5, actor=USER
        )
    incident.detach_channel(1, USER)  # detaching a resolved incident's channel is fine
    assert incident.channels == {}


def test_connector_types_per_channel_type() -> None:
    assert posts_to(ChannelType.SLACK, "slack") and posts_to(ChannelType.SLACK, "slack_webhook")
    assert posts_to(ChannelType.MICROSOFT_TEAMS, "microsoft_teams")
    assert posts_to(ChannelType.GOOGLE_CHAT, "googlechat")
    assert not posts_to(ChannelType.SLACK, "microsoft_teams")
    assert not posts_to(ChannelType.GOOGLE_CHAT, "webhook")
