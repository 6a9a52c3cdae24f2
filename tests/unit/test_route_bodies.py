"""Request bodies decoded by a route's msgspec type: every refusal names its field."""

from __future__ import annotations

import msgspec
import pytest

from ilertd.contract.alert_sources import AlertSource
from ilertd.contract.common import IdRef
from ilertd.http.problems import ProblemError
from ilertd.http.routes import decode

DECODER = msgspec.json.Decoder(AlertSource)


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        (b'{"name": 12}', "name", "name: must be a string, got an integer"),
        (b'{"name": "' + b"x" * 256 + b'"}', "name", "name: must have at most 255 characters"),
        (b'{"escalationPolicy": {"id": -1}}', "escalationPolicy.id", "must be at least 1"),
        (b'{"escalationPolicy": {}}', "escalationPolicy.id", "escalationPolicy.id: is required"),
        (
            b'{"escalationPolicy": true}',
            "escalationPolicy",
            "must be an integer, a string, an object or null, got a boolean",
        ),
        (b'{"alertCreation": "SOMETIMES"}', "alertCreation", "one of ONE_ALERT_GROUPED"),
        (b'{"active": 1}', "active", "active: must be a boolean or null, got an integer"),
        (b"[1]", "body", "body: must be an object, got an array"),
        (b'{"name"', "body", "body: not valid JSON"),
        (b"  ", "body", "body: a JSON body is required"),
        (b'{"name": "a\\u0000b"}', "name", "name: contains a NUL character"),
    ],
)
def test_refusals_name_the_field(raw: bytes, field: str, message: str) -> None:
    with pytest.raises(ProblemError) as caught:
        decode(raw, DECODER, AlertSource)
    problem = caught.value
    assert problem.status == 400 and problem.field == field
    assert message in problem.message


def test_a_bad_value_in_a_map_names_the_map() -> None:
    class Labels(msgspec.Struct):
        labels: dict[str, str]

    with pytest.raises(ProblemError) as caught:
        decode(b'{"labels": {"env": 5}}', msgspec.json.Decoder(Labels), Labels)
    assert caught.value.field == "labels"
    assert caught.value.message == "labels: must be a string, got an integer"


def test_a_good_body_decodes_with_ids_as_numbers_or_strings() -> None:
    body = decode(
        b'{"name": "Prod", "escalationPolicy": {"id": "17"}, "alertGroupingWindow": 600,'
        b' "incidentCreation": "ONE_INCIDENT_PER_EMAIL", "unknownField": [1]}',
        DECODER,
        AlertSource,
    )
    assert body.name == "Prod" and body.escalationPolicy == IdRef("17")
    assert body.alertGroupingWindow == 600 and body.incidentCreation == "ONE_INCIDENT_PER_EMAIL"
    # an escaped backslash before u0000 is not a NUL
    assert decode(b'{"name": "a\\\\u0000"}', DECODER, AlertSource).name == "a\\u0000"
