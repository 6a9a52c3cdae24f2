"""Status page subscriptions without a database: the double opt-in rules of the aggregate
and the signed link tokens."""

from __future__ import annotations

import email
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from ilertd.domain.errors import InvalidValueError
from ilertd.domain.status_subscription import (
    StaleConfirmationError,
    StatusPageSubscription,
    SubscriptionEndedError,
    SubscriptionStatus,
    checked_email,
    subscription_id,
)
from ilertd.status_site import tokens
from ilertd.status_site.subscriber_mail import Item, news_mail

NOW = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
COOLDOWN = timedelta(minutes=10)
SECRET = b"s" * 32


def opened() -> StatusPageSubscription:
    return StatusPageSubscription.open(7, uuid4(), " Ann@Example.COM ")


def test_addresses_are_checked_and_one_mailbox_is_one_subscription() -> None:
    assert checked_email(" Ann@Example.COM ") == "ann@example.com"
    for bad in ("", "ann", "ann@", "ann@example", "a b@example.com", "änn@example.com", 3):
        with pytest.raises(InvalidValueError) as caught:
            checked_email(bad)
        assert caught.value.field == "email"
    page = uuid4()
    assert StatusPageSubscription.open(1, page, "ANN@example.com").id == subscription_id(
        page, "ann@example.com"
    )


def test_only_the_latest_request_confirms_and_resends_wait_for_the_cooldown() -> None:
    s = opened()
    assert s.request(NOW, COOLDOWN)
    assert not s.request(NOW + timedelta(minutes=1), COOLDOWN)  # no second mail yet
    assert s.request(NOW + COOLDOWN, COOLDOWN) and s.round == 2
    with pytest.raises(StaleConfirmationError):
        s.confirm(1)
    assert s.confirm(2) and s.status is SubscriptionStatus.CONFIRMED
    assert not s.confirm(2)  # twice is fine
    assert not s.request(NOW + 2 * COOLDOWN, COOLDOWN)  # confirmed: nothing to send


def test_unsubscribing_is_idempotent_and_old_links_do_not_revive() -> None:
    s = opened()
    s.request(NOW, COOLDOWN)
    assert s.unsubscribe("link") and not s.unsubscribe("link")
    with pytest.raises(SubscriptionEndedError):
        s.confirm(1)
    assert s.request(NOW, COOLDOWN) and s.round == 2  # subscribing again: a new round
    added = opened()
    assert added.add() and not added.add() and added.private


def test_tokens_are_bound_to_purpose_secret_and_time() -> None:
    subject = uuid4().hex
    token = tokens.make(
        SECRET, tokens.Token(tokens.Purpose.CONFIRM, subject, 3, NOW + timedelta(hours=1))
    )
    read = tokens.read(SECRET, token, tokens.Purpose.CONFIRM, NOW)
    assert (read.subject, read.number) == (subject, 3)
    for secret, purpose, now, reason in (
        (b"x" * 32, tokens.Purpose.CONFIRM, NOW, "forged"),
        (SECRET, tokens.Purpose.UNSUBSCRIBE, NOW, "not for this"),
        (SECRET, tokens.Purpose.CONFIRM, NOW + timedelta(hours=1), "expired"),
    ):
        with pytest.raises(tokens.InvalidTokenError) as caught:
            tokens.read(secret, token, purpose, now)
        assert caught.value.reason == reason
    altered = token[:5] + ("A" if token[5] != "A" else "B") + token[6:]
    with pytest.raises(tokens.InvalidTokenError):
        tokens.read(SECRET, altered, tokens.Purpose.CONFIRM, NOW)
    forever = tokens.make(SECRET, tokens.Token(tokens.Purpose.UNSUBSCRIBE, subject, 0, None))
    far = NOW + timedelta(days=3650)
    assert tokens.read(SECRET, forever, tokens.Purpose.UNSUBSCRIBE, far).expires_at is None


def test_news_mails_escape_their_text_and_carry_one_click_headers() -> None:
    items = [
        Item("update", "DB <b>down</b>\r\nBcc: x@example.com", "Investigating", "<script>", NOW),
        Item("update", "Recovered", "Resolved", "All good.", NOW + timedelta(minutes=1)),
    ]
    raw = news_mail(
        "status@example.com",
        "ann@example.com",
        "Acme",
        "https://status.example.com/status/acme",
        items,
        "https://status.example.com/status/acme/subscriptions/unsubscribe?token=t",
    )
    message = email.message_from_bytes(raw.data)
    assert raw.recipients == ("ann@example.com",)
    assert message["Bcc"] is None
    assert " ".join(message["Subject"].split()) == "Acme: Resolved - Recovered (and 1 more)"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    parts = {
        p.get_content_type(): p.get_payload(decode=True).decode()
        for p in message.walk()
        if not p.is_multipart()
    }
    assert "<script>" not in parts["text/html"] and "&lt;script&gt;" in parts["text/html"]
    assert parts["text/plain"].index("Recovered") < parts["text/plain"].index("DB <b>down</b>")
    assert "Unsubscribe: https://status.example.com/" in parts["text/plain"]
