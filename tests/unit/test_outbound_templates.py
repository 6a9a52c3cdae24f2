"""Templates, delivery signatures and the request value object: pure, no network."""

from __future__ import annotations

import hashlib
import hmac

import orjson
import pytest

from ilertd.outbound.request import OutboundRequest, basic_auth, split_userinfo
from ilertd.outbound.signing import delivery_headers, sign, verify
from ilertd.outbound.templates import (
    json_string_escape,
    looks_like_json,
    render,
    single_line,
    template_names,
    truncate,
)

# --- templates ---------------------------------------------------------------------------


def test_render_with_and_without_whitespace() -> None:
    assert render("{{a}}-{{ a }}-{{   a\t}}", {"a": "x"}) == "x-x-x"


def test_render_value_types() -> None:
    variables = {
        "none": None,
        "int": 42,
        "float": 1.5,
        "yes": True,
        "no": False,
        "obj": {"k": [1, "two"]},
        "list": [1, 2],
    }
    template = "{{none}}|{{int}}|{{float}}|{{yes}}|{{no}}|{{obj}}|{{list}}"
    assert render(template, variables) == '|42|1.5|true|false|{"k":[1,"two"]}|[1,2]'


def test_unknown_names_render_empty() -> None:
    assert render("a{{missing}}b{{ also.missing }}c", {}) == "abc"


def test_dotted_names_reach_into_mappings_and_flat_keys_win() -> None:
    variables = {"labels": {"env": "prod"}, "a.b": "flat", "a": {"b": "nested"}}
    assert render("{{labels.env}} {{a.b}} {{labels.nope}}", variables) == "prod flat "


def test_no_double_expansion() -> None:
    variables = {"a": "{{b}}", "b": "SECRET"}
    assert render("{{a}}", variables) == "{{b}}"


def test_text_that_is_not_a_placeholder_is_kept() -> None:
    assert render("{ {a} } {{a b}} {{-x}} {{}}", {"a": "1"}) == "{ {a} } {{a b}} {{-x}} {{}}"


def test_template_names() -> None:
    assert template_names("{{ alertId }} {{alertSummary}}{{alertId}} {{x.y}}") == {
        "alertId",
        "alertSummary",
        "x.y",
    }
    assert template_names("no placeholders") == set()


def test_escape_is_applied_to_each_substitution_only() -> None:
    assert render('"{{a}}"', {"a": "x"}, escape=str.upper) == '"X"'


@pytest.mark.parametrize(
    "text",
    ['say "hi"', "line1\nline2\r\n", "back\\slash \\n", "tab\tctl\x01", "ünïcødé ✓", "</script>"],
)
def test_json_string_escape_keeps_json_valid(text: str) -> None:
    body = render('{"summary": "{{s}}"}', {"s": text}, escape=json_string_escape)
    assert orjson.loads(body) == {"summary": text}


def test_json_string_escape_handles_lone_surrogates() -> None:
    assert json_string_escape("\ud800") == "\\ud800"


def test_looks_like_json() -> None:
    assert looks_like_json('  \n{"a": 1}')
    assert looks_like_json("[1]")
    assert looks_like_json("[{{alertId}}]")
    assert not looks_like_json("alert {{alertId}}")
    assert not looks_like_json(" {{alertSummary}} is {{alertStatus}}")
    assert not looks_like_json("")


def test_single_line_and_truncate() -> None:
    assert single_line(" a\r\nb\nc\u2028d ") == "a b c d"
    assert truncate("abcdef", 6) == "abcdef"
    assert truncate("abcdefg", 6) == "abcde…"


# --- signing -----------------------------------------------------------------------------


def test_sign_matches_an_independent_hmac() -> None:
    secret, timestamp, body = b"s3cret", 1_700_000_000, b'{"id":"1"}'
    expected = hmac.new(secret, b'1700000000.{"id":"1"}', hashlib.sha256).hexdigest()
    assert sign(secret, timestamp, body) == "sha256=" + expected


def test_sign_known_vector() -> None:
    # computed outside Python: printf '1700000000.<body>' | openssl dgst -sha256 -hmac whsec_test
    body = b'{"id":"1","eventType":"alert-created"}'
    assert sign(b"whsec_test", 1_700_000_000, body) == (
        "sha256=05d07e50c86075da04b74724b6501e99295f2c79f409a7fe2f1876bcb079f155"
    )


def test_verify_round_trip_and_tampering() -> None:
    secret, timestamp, body = b"k", 1_700_000_000, b"payload"
    signature = sign(secret, timestamp, body)
    assert verify(secret, timestamp, body, signature)
    assert not verify(secret, timestamp, body + b"x", signature)
    assert not verify(secret, timestamp + 1, body, signature)
    assert not verify(b"other", timestamp, body, signature)
    assert not verify(secret, timestamp, body, signature.upper())
    assert not verify(secret, timestamp, body, "sha256=ünicode")


def test_verify_tolerance_when_now_is_given() -> None:
    secret, timestamp, body = b"k", 1_700_000_000, b"payload"
    signature = sign(secret, timestamp, body)
    assert verify(secret, timestamp, body, signature, now=timestamp + 300)
    assert not verify(secret, timestamp, body, signature, now=timestamp + 301)
    assert not verify(secret, timestamp, body, signature, now=timestamp - 301)


def test_delivery_headers() -> None:
    headers = delivery_headers("d-1", "alert-created", 1_700_000_000, b"{}", b"k")
    assert headers == [
        ("X-Ilertd-Delivery", "d-1"),
        ("X-Ilertd-Event", "alert-created"),
        ("X-Ilertd-Timestamp", "1700000000"),
        ("X-Ilertd-Signature", sign(b"k", 1_700_000_000, b"{}")),
    ]


# --- request -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("X-A", "v\r\nX-Injected: 1"),
        ("X-A", "v\nX"),
        ("X-A", "v\rX"),
        ("X-A", "v\x00"),
        ("X-A\r\nX-B", "v"),
        ("X A", "v"),
        ("X-A:", "v"),
        ("", "v"),
    ],
)
def test_header_injection_is_rejected(name: str, value: str) -> None:
    with pytest.raises(ValueError):
        OutboundRequest("POST", "https://h.example/", ((name, value),), b"")


@pytest.mark.parametrize(
    "url", ["ftp://h.example/", "/relative", "https://h.example/a b", "https://h.example/\r\n"]
)
def test_bad_urls_are_rejected(url: str) -> None:
    with pytest.raises(ValueError):
        OutboundRequest("POST", url, (), b"")


def test_header_lookup_and_with_headers() -> None:
    request = OutboundRequest("POST", "https://h.example/", (("Content-Type", "a/b"),), b"")
    extended = request.with_headers([("content-type", "c/d"), ("X-A", "1")])
    assert request.header("X-A") is None
    assert extended.header("CONTENT-TYPE") == "c/d"
    assert extended.headers[0] == ("Content-Type", "a/b")
    with pytest.raises(ValueError):
        request.with_headers([("X-A", "1\n2")])


def test_repr_hides_secrets() -> None:
    request = OutboundRequest(
        "POST",
        "https://hooks.slack.com/services/T0/B0/secret-token",
        (("Authorization", "Basic c2VjcmV0"),),
        b"{}",
    )
    text = repr(request)
    assert "secret-token" not in text and "c2VjcmV0" not in text
    assert "hooks.slack.com" in text and "Authorization" in text


def test_split_userinfo() -> None:
    assert split_userinfo("https://h.example/x") == ("https://h.example/x", None)
    url, auth = split_userinfo("https://us%40er:p%3Ass%20w@h.example:8443/x?q=1#f")
    assert url == "https://h.example:8443/x?q=1#f"
    assert auth == basic_auth("us@er", "p:ss w")
    assert split_userinfo("https://user@h.example/")[1] == basic_auth("user", "")
