"""Calendar feed tokens: the right one opens one schedule's feed; anything else is wrong,
never an error (a 500 on ``?token=%C3%A9`` was one)."""

from __future__ import annotations

from ilertd.security import feed_token, feed_token_valid

SECRET = b"s" * 32


def test_the_schedules_own_token_is_valid_and_no_other() -> None:
    token = feed_token(SECRET, 7)
    assert feed_token_valid(SECRET, 7, token)
    assert not feed_token_valid(SECRET, 8, token)
    assert not feed_token_valid(b"t" * 32, 7, token)
    assert not feed_token_valid(SECRET, 7, token[:-1])


def test_non_ascii_and_odd_tokens_are_simply_invalid() -> None:
    for token in ("é", "\u00e9" * 40, "\udcff", "", "\x00" * 40, feed_token(SECRET, 7) + "é"):
        assert feed_token_valid(SECRET, 7, token) is False
