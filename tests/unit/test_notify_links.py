"""Action-link tokens: bound to alert, user and action; forged, altered or expired ones
are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ilertd.notify.links import ActionLink, InvalidLinkError, LinkAction, make_token, read_token

SECRET = b"s" * 32
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def link(**overrides) -> ActionLink:
    fields = {
        "alert_id": 42,
        "user_id": 7,
        "action": LinkAction.ACCEPT,
        "expires_at": NOW + timedelta(hours=1),
    } | overrides
    return ActionLink(**fields)


def test_a_token_reads_back_as_its_link() -> None:
    token = make_token(SECRET, link())
    assert read_token(SECRET, token, NOW) == link()
    assert len(token) < 80 and "/" not in token and "+" not in token


def test_expired_forged_and_foreign_tokens_are_refused() -> None:
    token = make_token(SECRET, link())
    with pytest.raises(InvalidLinkError) as caught:
        read_token(SECRET, token, NOW + timedelta(hours=2))
    assert caught.value.reason == "expired"
    with pytest.raises(InvalidLinkError) as caught:
        read_token(b"other" * 8, token, NOW)
    assert caught.value.reason == "forged"
    other = make_token(SECRET, link(action=LinkAction.RESOLVE))
    spliced = token.split(".")[0] + "." + other.split(".")[1]
    with pytest.raises(InvalidLinkError):
        read_token(SECRET, spliced, NOW)


@settings(max_examples=300)
@given(st.text(max_size=120))
def test_arbitrary_text_is_never_a_valid_token(text: str) -> None:
    with pytest.raises(InvalidLinkError):
        read_token(SECRET, text, NOW)


@settings(max_examples=200)
@given(st.integers(min_value=0, max_value=60), st.characters(codec="ascii"))
def test_changing_any_character_breaks_the_token(index: int, replacement: str) -> None:
    token = make_token(SECRET, link())
    index %= len(token)
    if token[index] == replacement:
        return
    altered = token[:index] + replacement + token[index + 1 :]
    with pytest.raises(InvalidLinkError):
        read_token(SECRET, altered, NOW)
