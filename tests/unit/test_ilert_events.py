"""Events API body validation (ilertd.inbound.ilert_events): pure, no HTTP, no database."""

from __future__ import annotations

import copy
from typing import Any

import msgspec
import orjson
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ilertd.contract.events import EventRequest
from ilertd.domain.errors import InvalidValueError
from ilertd.http.routes import explain
from ilertd.inbound.ilert_events import (
    MAX_ALERT_KEY,
    MAX_COMMENT,
    MAX_COMMENTS,
    MAX_CUSTOM_DETAILS_BYTES,
    MAX_DETAILS,
    MAX_IMAGES,
    MAX_LABEL_KEY,
    MAX_LABEL_VALUE,
    MAX_LABELS,
    MAX_LINKS,
    MAX_SUMMARY,
    EventType,
    InboundEvent,
    event_from_request,
    parse_event,
)

KEY = "il1api0123456789"


def alert(**fields: Any) -> dict[str, Any]:
    """A minimal valid ALERT body with ``fields`` merged in."""
    return {"integrationKey": KEY, "eventType": "ALERT", "summary": "disk full", **fields}


def keyed(event_type: str, **fields: Any) -> dict[str, Any]:
    """A minimal valid body with an alert key (and what its event type requires)."""
    body = {"integrationKey": KEY, "eventType": event_type, "alertKey": "host-1/disk"}
    if event_type.upper() == "COMMENT":
        body["comments"] = [{"content": "looking"}]
    if event_type.upper() == "ALERT":
        body["summary"] = "disk full"
    return body | fields


def rejects(body: object, field: str, words: str = "", **kwargs: Any) -> InvalidValueError:
    with pytest.raises(InvalidValueError) as caught:
        parse_event(body, **kwargs)
    assert caught.value.field == field, caught.value
    assert words.lower() in str(caught.value).lower(), caught.value
    return caught.value


# --- A minimal ALERT -----------------------------------------------------------------


def test_minimal_alert_has_defaults() -> None:
    assert parse_event(alert()) == InboundEvent(
        integration_key=KEY,
        event_type=EventType.ALERT,
        summary="disk full",
        details="",
        alert_key=None,
        priority=None,
        severity=None,
        images=(),
        links=(),
        comments=(),
        labels={},
        custom_details=None,
        routing_key=None,
    )


def test_event_is_frozen() -> None:
    event = parse_event(alert())
    with pytest.raises(AttributeError):
        event.summary = "x"  # type: ignore[misc]


def test_null_optional_fields_count_as_absent() -> None:
    names = ["details", "alertKey", "incidentKey", "priority", "severity", "images", "links"]
    names += ["comments", "labels", "customDetails", "routingKey", "apiKey"]
    assert parse_event(alert(**dict.fromkeys(names))) == parse_event(alert())


def test_unknown_fields_are_ignored() -> None:
    assert parse_event(alert(newField={"x": [1]}, source="x")) == parse_event(alert())


# --- Body -----------------------------------------------------------------------------


@pytest.mark.parametrize("body", [None, [], [alert()], "ALERT", 3, 2.5, True])
def test_body_must_be_an_object(body: object) -> None:
    rejects(body, "body", "must be a JSON object")


# --- Integration key and its alias ----------------------------------------------------


@pytest.mark.parametrize("name", ["integrationKey", "apiKey"])
def test_either_key_spelling_is_accepted(name: str) -> None:
    body = {name: f"  {KEY} ", "eventType": "ALERT", "summary": "s"}
    assert parse_event(body).integration_key == KEY


def test_both_key_spellings_may_agree() -> None:
    assert parse_event(alert(apiKey=KEY)).integration_key == KEY


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"apiKey": "other"}, "integrationKey", "differs from apiKey"),
        ({"integrationKey": None}, "integrationKey", "required"),
        ({"integrationKey": ""}, "integrationKey", "required"),
        ({"integrationKey": "   "}, "integrationKey", "required"),
        ({"integrationKey": 123}, "integrationKey", "must be a string or null, got an integer"),
        ({"integrationKey": None, "apiKey": 5}, "apiKey", "must be a string"),
        ({"integrationKey": ["k"]}, "integrationKey", "got an array"),
        ({"integrationKey": "k" * 257}, "integrationKey", "longer than 256"),
    ],
)
def test_integration_key_rules(fields: dict, field: str, words: str) -> None:
    rejects(alert(**fields), field, words)


def test_missing_key_is_an_error_without_a_path_key() -> None:
    body = alert()
    del body["integrationKey"]
    rejects(body, "integrationKey", "required")


@pytest.mark.parametrize("name", ["integrationKey", "apiKey"])
def test_path_key_makes_body_key_optional_but_it_must_match(name: str) -> None:
    body = {"eventType": "ALERT", "summary": "s"}
    assert parse_event(body, integration_key_from_path=KEY).integration_key == KEY
    matching = body | {name: KEY}
    assert parse_event(matching, integration_key_from_path=KEY).integration_key == KEY
    rejects(body | {name: "other"}, name, "does not match", integration_key_from_path=KEY)


# --- eventType --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ALERT", EventType.ALERT),
        ("alert", EventType.ALERT),
        (" Accept ", EventType.ACCEPT),
        ("resolve", EventType.RESOLVE),
        ("CoMmEnT", EventType.COMMENT),
    ],
)
def test_event_type_is_case_insensitive(raw: str, expected: EventType) -> None:
    body = keyed(expected.value) | {"eventType": raw}
    assert parse_event(body).event_type is expected


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (None, "required"),
        ("ESCALATE", "must be one of ALERT, ACCEPT, RESOLVE, COMMENT"),
        ("", "must be one of"),
        (1, "must be a string"),
        (["ALERT"], "must be a string"),
    ],
)
def test_event_type_rules(raw: object, words: str) -> None:
    rejects(alert(eventType=raw), "eventType", words)


def test_missing_event_type() -> None:
    body = alert()
    del body["eventType"]
    rejects(body, "eventType", "required")


# --- summary, details, routingKey -------------------------------------------------------


def test_summary_is_trimmed_and_may_be_at_the_limit() -> None:
    assert parse_event(alert(summary="  disk full\n")).summary == "disk full"
    assert parse_event(alert(summary="s" * MAX_SUMMARY + "  ")).summary == "s" * MAX_SUMMARY


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (None, "required for ALERT"),
        ("", "required"),
        ("  \t", "must not be blank"),
        (42, "must be a string, got a number"),
        ({"text": "x"}, "got an object"),
        ("s" * (MAX_SUMMARY + 1), f"longer than {MAX_SUMMARY}"),
    ],
)
def test_summary_rules(raw: object, words: str) -> None:
    rejects(alert(summary=raw), "summary", words)


@pytest.mark.parametrize("event_type", ["ACCEPT", "RESOLVE", "COMMENT"])
def test_summary_and_routing_key_only_matter_for_alert(event_type: str) -> None:
    event = parse_event(keyed(event_type, summary=5, routingKey=["x"]))
    assert (event.summary, event.routing_key) == ("", None)


def test_details_are_kept_verbatim() -> None:
    text = "  # Heading\n\n* item  \n"
    assert parse_event(alert(details=text)).details == text
    assert parse_event(alert(details="d" * MAX_DETAILS)).details == "d" * MAX_DETAILS


@pytest.mark.parametrize(
    ("raw", "words"),
    [(3, "must be a string"), ("d" * (MAX_DETAILS + 1), f"at most {MAX_DETAILS} characters")],
)
def test_details_rules(raw: object, words: str) -> None:
    rejects(alert(details=raw), "details", words)


def test_routing_key() -> None:
    assert parse_event(alert(routingKey=" db-team ")).routing_key == "db-team"
    assert parse_event(alert(routingKey="")).routing_key is None
    rejects(alert(routingKey=7), "routingKey", "must be a string")
    rejects(alert(routingKey="r" * 513), "routingKey", "longer than 512")


# --- alertKey and its alias -------------------------------------------------------------


@pytest.mark.parametrize("name", ["alertKey", "incidentKey"])
def test_either_alert_key_spelling_is_accepted_and_trimmed(name: str) -> None:
    assert parse_event(alert(**{name: "  host-1/disk \n"})).alert_key == "host-1/disk"


@pytest.mark.parametrize("name", ["alertKey", "incidentKey"])
def test_blank_alert_key_is_none(name: str) -> None:
    assert parse_event(alert(**{name: "   "})).alert_key is None


def test_both_alert_key_spellings_may_agree_up_to_case() -> None:
    assert parse_event(alert(alertKey="Host-1", incidentKey="host-1 ")).alert_key == "Host-1"


def test_alert_key_at_the_limit() -> None:
    assert parse_event(alert(alertKey="k" * MAX_ALERT_KEY)).alert_key == "k" * MAX_ALERT_KEY


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"alertKey": "a", "incidentKey": "b"}, "alertKey", "differs from incidentKey"),
        ({"alertKey": 17}, "alertKey", "must be a string or null, got an integer"),
        ({"incidentKey": 17}, "incidentKey", "must be a string"),
        ({"alertKey": "k" * (MAX_ALERT_KEY + 1)}, "alertKey", f"longer than {MAX_ALERT_KEY}"),
        ({"incidentKey": "k" * (MAX_ALERT_KEY + 1)}, "incidentKey", "longer than"),
    ],
)
def test_alert_key_rules(fields: dict, field: str, words: str) -> None:
    rejects(alert(**fields), field, words)


@pytest.mark.parametrize("event_type", ["ACCEPT", "RESOLVE", "COMMENT"])
@pytest.mark.parametrize("missing", [{"alertKey": None}, {"alertKey": "  "}])
def test_alert_key_is_required_except_for_alert(event_type: str, missing: dict) -> None:
    rejects(keyed(event_type, **missing), "alertKey", f"required for {event_type}")


@pytest.mark.parametrize("event_type", ["ACCEPT", "RESOLVE", "COMMENT"])
def test_legacy_incident_key_satisfies_the_requirement(event_type: str) -> None:
    body = keyed(event_type, alertKey=None, incidentKey="host-1/disk")
    assert parse_event(body).alert_key == "host-1/disk"


# --- priority, severity -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"), [("HIGH", "HIGH"), ("low", "LOW"), (" High ", "HIGH"), (None, None)]
)
def test_priority(raw: object, expected: str | None) -> None:
    assert parse_event(alert(priority=raw)).priority == expected


@pytest.mark.parametrize(
    ("raw", "words"),
    [("MEDIUM", "HIGH or LOW"), ("", "HIGH or LOW"), (1, "must be a string"), (True, "boolean")],
)
def test_priority_rules(raw: object, words: str) -> None:
    rejects(alert(priority=raw), "priority", words)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (1, 1),
        (5, 5),
        ("3", 3),
        ("SEV2", 2),
        ("sev4", 4),
        (" SEV5 ", 5),
        (None, None),
    ],
)
def test_severity(raw: object, expected: int | None) -> None:
    assert parse_event(alert(severity=raw)).severity == expected


@pytest.mark.parametrize(
    "raw", [0, 6, -1, True, False, 2.0, 2.5, "SEV0", "SEV6", "6", "high", "", [3], {"v": 3}]
)
def test_severity_rules(raw: object) -> None:
    rejects(alert(severity=raw), "severity", "integer from 1 to 5")


# --- images, links, comments ------------------------------------------------------------


def test_images_keep_given_members() -> None:
    images = [
        {"src": "https://x.io/a.png"},
        {"src": "http://x.io/b.png", "href": "https://x.io/", "alt": "graph", "extra": 1},
        {"src": "https://x.io/c.png", "href": None, "alt": None},
    ]
    assert parse_event(alert(images=images)).images == (
        {"src": "https://x.io/a.png"},
        {"src": "http://x.io/b.png", "href": "https://x.io/", "alt": "graph"},
        {"src": "https://x.io/c.png"},
    )


def test_blank_image_href_is_left_out() -> None:
    """ilert-go's AlertImage has no omitempty: an image without a link sends "href": ""."""
    image = {"src": "https://x.io/a.png", "href": "", "alt": ""}
    assert parse_event(alert(images=[image])).images == ({"src": "https://x.io/a.png", "alt": ""},)


def test_links_keep_given_members() -> None:
    links = [{"href": "https://runbook.io/disk", "text": "runbook"}, {"href": "HTTP://x.io"}]
    assert parse_event(alert(links=links)).links == (
        {"href": "https://runbook.io/disk", "text": "runbook"},
        {"href": "HTTP://x.io"},
    )


@pytest.mark.parametrize(
    ("images", "field", "words"),
    [
        ({"src": "https://x.io"}, "images", "must be an array or null, got an object"),
        ("https://x.io", "images", "must be an array"),
        (["https://x.io"], "images[0]", "must be an object, got a string"),
        ([{"src": "https://x.io"}, None], "images[1]", "must be an object, got null"),
        ([{}], "images[0].src", "required"),
        ([{"src": None}], "images[0].src", "must be a string, got null"),
        ([{"src": 5}], "images[0].src", "must be a string"),
        ([{"src": "ftp://x.io/a"}], "images[0].src", "http:// or https://"),
        ([{"src": "javascript:alert(1)"}], "images[0].src", "http"),
        ([{"src": "/relative.png"}], "images[0].src", "absolute"),
        ([{"src": "https://"}], "images[0].src", "absolute"),
        ([{"src": "https://x.io/a b"}], "images[0].src", "without spaces"),
        ([{"src": "https://[::1/"}], "images[0].src", "absolute"),
        ([{"src": "https://x.io/" + "a" * 2048}], "images[0].src", "at most 2048 characters"),
        ([{"src": "https://x.io", "href": "x.io"}], "images[0].href", "http"),
        ([{"src": "https://x.io", "href": 1}], "images[0].href", "must be a string"),
        ([{"src": "https://x.io", "alt": False}], "images[0].alt", "must be a string"),
        ([{"src": "https://x.io", "alt": "a" * 1025}], "images[0].alt", "at most 1024"),
        ([{"src": "https://x.io"}] * (MAX_IMAGES + 1), "images", f"at most {MAX_IMAGES}"),
    ],
)
def test_image_rules(images: object, field: str, words: str) -> None:
    rejects(alert(images=images), field, words)


def test_image_limit_is_inclusive() -> None:
    images = [{"src": "https://x.io"}] * MAX_IMAGES
    assert len(parse_event(alert(images=images)).images) == MAX_IMAGES


@pytest.mark.parametrize(
    ("links", "field", "words"),
    [
        ("https://x.io", "links", "must be an array"),
        ([1], "links[0]", "must be an object, got an integer"),
        ([{"text": "t"}], "links[0].href", "required"),
        ([{"href": "mailto:a@b"}], "links[0].href", "http"),
        ([{"href": "https://x.io", "text": 1}], "links[0].text", "must be a string"),
        ([{"href": "https://x.io"}] * (MAX_LINKS + 1), "links", f"at most {MAX_LINKS}"),
    ],
)
def test_link_rules(links: object, field: str, words: str) -> None:
    rejects(alert(links=links), field, words)


def test_comments_are_kept_on_any_event() -> None:
    comments = [{"creator": "bob", "content": "on it"}, {"content": "fixed", "creator": None}]
    expected = ({"content": "on it", "creator": "bob"}, {"content": "fixed"})
    assert parse_event(alert(comments=comments)).comments == expected
    assert parse_event(keyed("COMMENT", comments=comments)).comments == expected


@pytest.mark.parametrize("comments", [None, []])
def test_comment_event_needs_a_comment(comments: object) -> None:
    rejects(keyed("COMMENT", comments=comments), "comments", "at least one")


@pytest.mark.parametrize(
    ("comments", "field", "words"),
    [
        ({"content": "x"}, "comments", "must be an array"),
        (["x"], "comments[0]", "must be an object"),
        ([{"creator": "bob"}], "comments[0].content", "required"),
        ([{"content": "  "}], "comments[0].content", "must not be blank"),
        ([{"content": 3}], "comments[0].content", "must be a string"),
        ([{"content": "c" * (MAX_COMMENT + 1)}], "comments[0].content", f"{MAX_COMMENT}"),
        ([{"content": "x", "creator": 7}], "comments[0].creator", "must be a string"),
        ([{"content": "x"}] * (MAX_COMMENTS + 1), "comments", f"at most {MAX_COMMENTS}"),
    ],
)
def test_comment_rules(comments: object, field: str, words: str) -> None:
    rejects(keyed("COMMENT", comments=comments), field, words)


def test_comment_limits_are_inclusive() -> None:
    comments = [{"content": "c" * MAX_COMMENT}] * MAX_COMMENTS
    assert len(parse_event(keyed("COMMENT", comments=comments)).comments) == MAX_COMMENTS


# --- labels, customDetails --------------------------------------------------------------


def test_labels_turn_scalars_into_strings() -> None:
    labels = {"env": "prod", "port": 5432, "ratio": 0.5, "paged": True, "muted": False}
    assert parse_event(alert(labels=labels)).labels == {
        "env": "prod",
        "port": "5432",
        "ratio": "0.5",
        "paged": "true",
        "muted": "false",
    }


def test_label_limits_are_inclusive() -> None:
    labels = {f"{i:0{MAX_LABEL_KEY}d}": "v" * MAX_LABEL_VALUE for i in range(MAX_LABELS)}
    assert parse_event(alert(labels=labels)).labels == labels


@pytest.mark.parametrize(
    ("labels", "field", "words"),
    [
        (["env=prod"], "labels", "must be an object"),
        ("env=prod", "labels", "must be an object"),
        ({"env": {"a": "b"}}, "labels.env", "string, number or boolean, got an object"),
        ({"env": ["prod"]}, "labels.env", "got an array"),
        ({"env": None}, "labels.env", "got null"),
        ({"": "x"}, "labels", "non-empty"),
        ({"k" * (MAX_LABEL_KEY + 1): "x"}, "labels", f"longer than {MAX_LABEL_KEY}"),
        ({"env": "v" * (MAX_LABEL_VALUE + 1)}, "labels.env", f"longer than {MAX_LABEL_VALUE}"),
        ({f"k{i}": "v" for i in range(MAX_LABELS + 1)}, "labels", f"at most {MAX_LABELS}"),
    ],
)
def test_label_rules(labels: object, field: str, words: str) -> None:
    rejects(alert(labels=labels), field, words)


def test_custom_details_are_kept_as_given() -> None:
    details = {"host": {"cpu": [1, 2.5, None, True]}, "note": "x"}
    assert parse_event(alert(customDetails=details)).custom_details == details


def test_custom_details_size_is_measured_as_json() -> None:
    overhead = len(orjson.dumps({"a": ""}))
    at_limit = {"a": "x" * (MAX_CUSTOM_DETAILS_BYTES - overhead)}
    assert parse_event(alert(customDetails=at_limit)).custom_details == at_limit
    over = {"a": "x" * (MAX_CUSTOM_DETAILS_BYTES - overhead + 1)}
    rejects(alert(customDetails=over), "customDetails", f"at most {MAX_CUSTOM_DETAILS_BYTES}")


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ([1, 2], "must be an object or null, got an array"),
        ("x", "got a string"),
        (3, "got an integer"),
        ({"n": 2**70}, "cannot be stored as JSON"),
    ],
)
def test_custom_details_rules(raw: object, words: str) -> None:
    rejects(alert(customDetails=raw), "customDetails", words)


def test_deeply_nested_custom_details_are_refused_not_crashed() -> None:
    nested: dict = {}
    for _ in range(300):
        nested = {"n": nested}
    rejects(alert(customDetails=nested), "customDetails", "cannot be stored")


# --- Properties -------------------------------------------------------------------------

FIELDS = [
    "integrationKey",
    "apiKey",
    "eventType",
    "summary",
    "details",
    "alertKey",
    "incidentKey",
    "priority",
    "severity",
    "images",
    "links",
    "comments",
    "labels",
    "customDetails",
    "routingKey",
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)

# Values that look almost right, so the deeper checks get exercised too.
near_values = st.one_of(
    json_values,
    st.sampled_from(["ALERT", "accept", "RESOLVE", "comment", "HIGH", "low", "SEV3", "2", KEY]),
    st.integers(min_value=-1, max_value=6),
    st.lists(
        st.dictionaries(
            st.sampled_from(["src", "href", "alt", "text", "content", "creator"]),
            st.one_of(st.just("https://x.io/a"), json_values),
            max_size=3,
        ),
        max_size=3,
    ),
)

mixed_fields = st.dictionaries(
    st.sampled_from(FIELDS) | st.text(max_size=8), near_values, max_size=len(FIELDS)
)
# A valid body with a few fields overwritten, so validation gets past the key and type.
mixed_bodies = mixed_fields | st.builds(
    lambda event_type, extra: keyed(event_type) | extra,
    st.sampled_from(list(EventType)),
    st.dictionaries(st.sampled_from(FIELDS), near_values, max_size=3),
)


def parses_or_rejects(body: object, path_key: str | None) -> None:
    try:
        event = parse_event(body, integration_key_from_path=path_key)
    except InvalidValueError as error:
        assert isinstance(error.field, str) and error.field
        assert str(error).startswith(f"{error.field}: ")
    else:
        assert isinstance(event, InboundEvent)


@settings(max_examples=200, deadline=None)
@given(body=json_values, path_key=st.none() | st.just(KEY))
def test_arbitrary_json_parses_or_is_rejected(body: object, path_key: str | None) -> None:
    parses_or_rejects(body, path_key)


@settings(max_examples=200, deadline=None)
@given(body=mixed_bodies, path_key=st.none() | st.just(KEY))
def test_bodies_with_known_fields_parse_or_are_rejected(body: dict, path_key: str | None) -> None:
    parses_or_rejects(body, path_key)


def stripped_text(min_size: int, max_size: int) -> st.SearchStrategy[str]:
    """Non-blank text with no surrounding whitespace, as the parser keeps it."""
    return (
        st.text(min_size=min_size, max_size=max_size)
        .map(str.strip)
        .filter(lambda s: len(s) >= max(min_size, 1))
    )


urls = st.builds(
    lambda scheme, host, path: f"{scheme}://{host}.example/{path}",
    st.sampled_from(["http", "https"]),
    st.from_regex(r"[a-z0-9]{1,12}", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9._~/-]{0,20}", fullmatch=True),
)
optional_text = st.none() | st.text(max_size=40)
images = st.lists(
    st.fixed_dictionaries({"src": urls}, optional={"href": urls, "alt": st.text(max_size=40)}),
    max_size=5,
)
links = st.lists(
    st.fixed_dictionaries({"href": urls}, optional={"text": st.text(max_size=40)}), max_size=5
)
comments = st.lists(
    st.fixed_dictionaries(
        {"content": stripped_text(1, 200)}, optional={"creator": st.text(max_size=40)}
    ),
    max_size=5,
)
label_values = st.text(max_size=40) | st.integers() | st.booleans()
labels = st.dictionaries(st.text(min_size=1, max_size=MAX_LABEL_KEY), label_values, max_size=10)
custom = st.none() | st.dictionaries(
    st.text(max_size=8),
    st.recursive(
        st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=10),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
        max_leaves=10,
    ),
    max_size=5,
)


@st.composite
def valid_alerts(draw: st.DrawFn) -> dict[str, Any]:
    body: dict[str, Any] = {
        draw(st.sampled_from(["integrationKey", "apiKey"])): draw(stripped_text(1, 64)),
        "eventType": draw(st.sampled_from(["ALERT", "alert", "Alert"])),
        "summary": draw(stripped_text(1, MAX_SUMMARY)),
    }
    optional = {
        "details": st.text(max_size=200),
        draw(st.sampled_from(["alertKey", "incidentKey"])): stripped_text(1, 64),
        "priority": st.sampled_from(["HIGH", "LOW"]),
        "severity": st.integers(1, 5),
        "images": images,
        "links": links,
        "comments": comments,
        "labels": labels,
        "customDetails": custom,
        "routingKey": stripped_text(1, 64),
    }
    for name, strategy in optional.items():
        if draw(st.booleans()):
            body[name] = draw(strategy)
    return body


def label_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@settings(max_examples=200, deadline=None)
@given(body=valid_alerts())
def test_valid_alert_round_trips(body: dict[str, Any]) -> None:
    original = copy.deepcopy(body)
    event = parse_event(body)
    assert body == original, "the body must not be changed"
    assert event.integration_key == body.get("integrationKey", body.get("apiKey"))
    assert event.event_type is EventType.ALERT
    assert event.summary == body["summary"]
    assert event.details == body.get("details", "")
    assert event.alert_key == body.get("alertKey", body.get("incidentKey"))
    assert event.priority == body.get("priority")
    assert event.severity == body.get("severity")
    assert event.images == tuple(body.get("images", []))
    assert event.links == tuple(body.get("links", []))
    assert event.comments == tuple(body.get("comments", []))
    assert event.labels == {k: label_text(v) for k, v in body.get("labels", {}).items()}
    assert event.custom_details == body.get("customDetails")
    assert event.routing_key == body.get("routingKey")


@settings(max_examples=300, deadline=None)
@given(body=valid_alerts() | mixed_bodies)
def test_decoding_bytes_and_parsing_a_dict_agree(body: dict[str, Any]) -> None:
    """The route decodes the raw body with msgspec; ``parse_event`` converts a dict: both
    give the same event, or name the same field."""
    try:
        raw = orjson.dumps(body)
    except orjson.JSONEncodeError:
        return  # not JSON (an integer beyond 64 bits): no client can send it
    assume(orjson.loads(raw) == body)  # NaN and infinities are written as null
    try:
        expected: object = parse_event(body)
    except InvalidValueError as error:
        expected = error.field
    try:
        got: object = event_from_request(msgspec.json.decode(raw, type=EventRequest))
    except msgspec.ValidationError as error:
        got = explain(str(error), EventRequest)[0]
    except InvalidValueError as error:
        got = error.field
    assert got == expected, body
