"""A storm's message: one e-mail covering many pages, each alert with its own links; and
the pure planning rules that decide what a page request becomes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from typing import Any

from ilertd.notify.email_page import BUNDLE_LIST_MAX, build_bundle_email
from ilertd.notify.page import Page
from ilertd.notify.planning import Planned, decide

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def page(alert_id: int, summary: str = "disk full") -> Page:
    return Page(
        alert_id=alert_id,
        summary=summary,
        details="",
        priority="HIGH",
        source_name="prometheus",
        alert_url=f"https://ilertd.example/api/alerts/{alert_id}",
        links={"accept": f"https://ilertd.example/r/acc{alert_id}.TOKEN"},
    )


def parsed(pages: list[Page]) -> Any:
    message = build_bundle_email("ilertd@example.test", "ann@example.test", pages, "<m1@x>")
    return message_from_bytes(message.as_bytes(), policy=policy.SMTP)


def test_a_bundle_lists_every_alert_newest_first_with_its_own_link() -> None:
    mail = parsed([page(3, "db down"), page(7, "api slow"), page(5, "disk full")])
    assert mail["Message-ID"] == "<m1@x>"
    assert mail["X-Ilertd-Alert-Id"] == "7"
    assert mail["X-Ilertd-Alert-Ids"] == "7, 5, 3"
    assert mail["Subject"].startswith("[ilertd] 3 new alerts, latest HIGH #7")
    text = mail.get_body(("plain",)).get_content()
    assert text.index("#7 api slow") < text.index("#5 disk full") < text.index("#3 db down")
    for alert_id in (3, 5, 7):
        assert f"Accept: https://ilertd.example/r/acc{alert_id}.TOKEN" in text
    html = mail.get_body(("html",)).get_content()
    assert "https://ilertd.example/r/acc5.TOKEN" in html


def test_a_huge_bundle_lists_the_newest_and_counts_the_rest_but_names_all() -> None:
    pages = [page(n) for n in range(1, 301)]
    mail = parsed(pages)
    text = mail.get_body(("plain",)).get_content()
    assert text.count("Accept: ") == BUNDLE_LIST_MAX
    assert f"and {300 - BUNDLE_LIST_MAX} more alerts" in text
    named = [int(i) for i in str(mail["X-Ilertd-Alert-Ids"]).split(",")]
    assert sorted(named) == list(range(1, 301))


def test_a_single_page_is_the_plain_page_email() -> None:
    mail = parsed([page(9)])
    assert mail["X-Ilertd-Alert-Ids"] is None
    assert mail["Subject"] == "[ilertd] HIGH #9: disk full"


USER = {"id": 4, "email": "ann@example.test", "muted_until": None, "deleted_at": None}


def rule(rule_id: int, method: str, target: str | None, delay: int = 0, **extra: Any) -> dict:
    return {
        "rule_id": rule_id,
        "method": method,
        "target": target,
        "delay_min": delay,
        "priority_type": extra.get("priority_type", "HIGH_PRIORITY"),
        "update_type": extra.get("update_type"),
    }


def test_a_page_follows_the_rules_for_its_priority() -> None:
    rules = [
        rule(1, "EMAIL", "a@x"),
        rule(2, "SMS", "+49151", 5),
        rule(3, "PUSH", None),
        rule(4, "EMAIL", "low@x", priority_type="LOW_PRIORITY"),
    ]
    decision = decide("ALERT", "HIGH", USER, rules, NOW, "topic-")
    assert decision.plans == (
        Planned("EMAIL", "a@x", 0, 1),
        Planned("SMS", "+49151", 5, 2),
        Planned("PUSH", "topic-4", 0, 3),
    )
    assert decide("ALERT", "LOW", USER, rules, NOW, "t").plans == (Planned("EMAIL", "low@x", 0, 4),)


def test_without_rules_a_page_is_an_email_and_a_muted_or_deleted_user_is_skipped() -> None:
    assert decide("ALERT", "HIGH", USER, [], NOW, "t").plans == (
        Planned("EMAIL", "ann@example.test", 0, None),
    )
    muted = {**USER, "muted_until": NOW + timedelta(hours=1)}
    assert "muted until" in (decide("ALERT", "HIGH", muted, [], NOW, "t").skipped or "")
    gone = {**USER, "deleted_at": NOW}
    assert decide("ALERT", "HIGH", gone, [], NOW, "t").skipped == "the user does not exist"
    assert decide("ALERT", "HIGH", None, [], NOW, "t").skipped == "the user does not exist"
    unreachable = {**USER, "email": ""}
    assert decide("ALERT", "HIGH", unreachable, [], NOW, "t").skipped == (
        "the user has no way to be reached"
    )


def test_a_status_update_follows_only_the_updates_rules_of_its_kind() -> None:
    rules = [
        rule(1, "EMAIL", "a@x", update_type="ALERT_RESOLVED"),
        rule(2, "SMS", "+49151", update_type="ALERT_ACCEPTED"),
    ]
    assert decide("ALERT_RESOLVED", "HIGH", USER, rules, NOW, "t").plans == (
        Planned("EMAIL", "a@x", 0, 1),
    )
    skipped = decide("ALERT_ESCALATED", "HIGH", USER, rules, NOW, "t").skipped
    assert skipped == "the user has no updates rule for ALERT_ESCALATED any more"
