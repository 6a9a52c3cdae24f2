"""TwiML building, webhook signatures and phone numbers for the Twilio-compatible provider."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from ilertd.notify.page import Page
from ilertd.notify.twilio import (
    TWIML_MAX,
    TwilioSettings,
    gather_twiml,
    message_twiml,
    normalize_number,
    say_twiml,
    signature,
    verify_signature,
)

# Twilio's worked example ("Validating signatures from Twilio", auth token 12345).
DOC_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"


def doc_params(caller: str) -> dict[str, str]:
    return {
        "CallSid": "CA1234567890ABCDE",
        "Caller": caller,
        "Digits": "1234",
        "From": caller,
        "To": "+18005551212",
    }


# -- TwiML -----------------------------------------------------------------------------


def test_gather_twiml_repeats_the_prompt_then_says_goodbye() -> None:
    twiml = gather_twiml("Press 1 to accept.", "https://ilertd.example/voice/42")
    assert twiml.startswith('<?xml version="1.0" encoding="UTF-8"?><Response><Gather ')
    root = ET.fromstring(twiml)
    assert root.tag == "Response"
    gathers, goodbye = root[:-1], root[-1]
    assert len(gathers) == 2
    for gather in gathers:
        assert gather.tag == "Gather"
        assert gather.attrib == {
            "input": "dtmf",
            "numDigits": "1",
            "action": "https://ilertd.example/voice/42",
            "method": "POST",
            "timeout": "10",
        }
        (say,) = gather
        assert (say.tag, say.text) == ("Say", "Press 1 to accept.")
    assert (goodbye.tag, goodbye.text) == ("Say", "Goodbye.")


def test_gather_twiml_options() -> None:
    root = ET.fromstring(
        gather_twiml("Enter the code.", "https://x.example/v", digits=4, timeout_s=5, repeat=3)
    )
    gathers = root.findall("Gather")
    assert len(gathers) == 3
    assert {(g.get("numDigits"), g.get("timeout")) for g in gathers} == {("4", "5")}


def test_twiml_escapes_markup_in_text_and_attributes() -> None:
    text = 'Disk <full> & "hot" </Say><Hangup/>'
    action = 'https://ilertd.example/voice?a=1&b="2"<3>'
    twiml = gather_twiml(text, action)
    assert "<Hangup" not in twiml
    root = ET.fromstring(twiml)
    assert root[0].get("action") == action
    assert root[0][0].text == text
    tags = [element.tag for element in root.iter()]
    assert tags == ["Response", "Gather", "Say", "Gather", "Say", "Say"]


def test_twiml_text_loses_line_breaks_and_characters_xml_cannot_carry() -> None:
    root = ET.fromstring(say_twiml("line one\r\nline two\x00\x0b\ufffe done"))
    assert root[0].text == "line one line two done"


def test_say_twiml_and_message_twiml() -> None:
    say = ET.fromstring(say_twiml("Alert 42 accepted. Goodbye."))
    assert [(e.tag, e.text) for e in say] == [("Say", "Alert 42 accepted. Goodbye.")]
    message = ET.fromstring(message_twiml("Accepted <#42> & done\nThanks"))
    assert message.tag == "Response"
    assert [(e.tag, e.text) for e in message] == [("Message", "Accepted <#42> & done\nThanks")]


@pytest.mark.parametrize(
    ("say", "action"),
    [("", "https://x.example/v"), ("\x00\n", "https://x.example/v"), ("hi", "/relative")],
)
def test_twiml_refuses_empty_speech_and_relative_actions(say: str, action: str) -> None:
    with pytest.raises(ValueError):
        gather_twiml(say, action)


# -- signatures ------------------------------------------------------------------------


def test_signature_matches_twilios_documented_example() -> None:
    assert signature("12345", DOC_URL, doc_params("+14158675310")) == (
        "GvWf1cFY/Q7PnoempGyD5oXAezc="
    )


def test_signature_matches_the_older_documented_example() -> None:
    # Earlier editions of the same page used other caller numbers with the same algorithm.
    assert signature("12345", DOC_URL, doc_params("+12349013030")) == (
        "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    )


def test_signature_sorts_parameters_by_name() -> None:
    params = doc_params("+14158675310")
    reversed_params = dict(reversed(list(params.items())))
    assert signature("12345", DOC_URL, reversed_params) == signature("12345", DOC_URL, params)


def test_verify_signature_accepts_the_right_one_only() -> None:
    params = doc_params("+14158675310")
    good = "GvWf1cFY/Q7PnoempGyD5oXAezc="
    assert verify_signature("12345", DOC_URL, params, good)
    assert not verify_signature("12346", DOC_URL, params, good)
    assert not verify_signature("12345", DOC_URL, {**params, "Digits": "9"}, good)
    assert not verify_signature("12345", DOC_URL.replace("bar=2", "bar=3"), params, good)
    assert not verify_signature("12345", DOC_URL, params, good[:-2])
    assert not verify_signature("12345", DOC_URL, params, None)
    assert not verify_signature("12345", DOC_URL, params, "")
    assert not verify_signature("12345", DOC_URL, params, "ünïcode")
    assert not verify_signature("", DOC_URL, params, good)


def test_verify_signature_tolerates_the_standard_port_either_way() -> None:
    params = {"Digits": "1"}
    signed_without = signature("tok", "https://ilertd.example/voice/42", params)
    signed_with = signature("tok", "https://ilertd.example:443/voice/42", params)
    assert verify_signature("tok", "https://ilertd.example:443/voice/42", params, signed_without)
    assert verify_signature("tok", "https://ilertd.example/voice/42", params, signed_with)
    other_port = signature("tok", "https://ilertd.example:8443/voice/42", params)
    assert not verify_signature("tok", "https://ilertd.example/voice/42", params, other_port)


# -- numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+12349013030", "+12349013030"),
        ("+49 (170) 123-4567", "+491701234567"),
        (" +44 20 7946 0958 ", "+442079460958"),
        ("+1.800.555.1212", "+18005551212"),
        ("030/1234567", "0301234567"),
        ("12345678", "12345678"),
        ("+123456789012345", "+123456789012345"),
        ("+1234567", None),  # 7 digits
        ("+1234567890123456", None),  # 16 digits
        ("+0123456789", None),  # no country code starts with 0
        ("1-800-FLOWERS", None),
        ("+49 170 12+34567", None),
        ("++491701234567", None),
        ("+٤٩١٧٠١٢٣٤٥٦٧", None),  # non-ASCII digits
        ("", None),
    ],
)
def test_normalize_number(text: str, expected: str | None) -> None:
    assert normalize_number(text) == expected


# -- settings --------------------------------------------------------------------------


def test_settings_repr_masks_the_token() -> None:
    settings = TwilioSettings(account_sid="AC123", auth_token="sup3r-secret", from_number="+1555")
    assert "sup3r-secret" not in repr(settings)
    assert "auth_token='***'" in repr(settings)
    assert settings.base_url == "https://api.twilio.com"


@pytest.mark.parametrize(
    "overrides",
    [
        {"base_url": "ftp://api.twilio.com"},
        {"base_url": "https://AC1:token@api.twilio.com"},
        {"account_sid": "AC1/../../x"},
        {"account_sid": ""},
        {"auth_token": ""},
        {"from_number": "+1555\nX-Evil: 1"},
    ],
)
def test_settings_are_validated(overrides: dict[str, str]) -> None:
    fields = {"account_sid": "AC1", "auth_token": "t", "from_number": "+15550001111"}
    with pytest.raises(ValueError):
        TwilioSettings(**(fields | overrides))


def test_the_voice_prompt_of_any_page_fits_a_call() -> None:
    page = Page(
        alert_id=2**62,
        summary="&<>" * 1000,
        details="",
        priority="HIGH",
        source_name='"&' * 100,
        alert_url="https://ilertd.example/alerts/1",
        links={"accept": "https://ilertd.example/r/a"},
        bundled=10_000,
    )
    action = "https://ilertd.example/voice/" + "t" * 200 + "?a=1&b=2"
    assert len(gather_twiml(page.voice_text(), action)) <= TWIML_MAX
