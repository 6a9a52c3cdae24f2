"""Page texts: lengths, sanitizing of alert text, menus and the wording of bundled pages."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest

from ilertd.notify.page import (
    ACTIONS,
    PUSH_DETAILS_MAX,
    SMS_DEFAULT_MAX,
    TITLE_MAX,
    VOICE_SUMMARY_MAX,
    Page,
    one_line,
    text_block,
)

LINKS = {
    "accept": "https://ilertd.example/r/acc.TOKEN",
    "resolve": "https://ilertd.example/r/res.TOKEN",
    "escalate": "https://ilertd.example/r/esc.TOKEN",
}
CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def make_page(**overrides: Any) -> Page:
    fields: dict[str, Any] = {
        "alert_id": 42,
        "summary": "disk full",
        "details": "/var is 98% full on db-1",
        "priority": "HIGH",
        "source_name": "Prometheus",
        "alert_url": "https://ilertd.example/alerts/42",
        "links": dict(LINKS),
    } | overrides
    return Page(**fields)


# -- SMS -------------------------------------------------------------------------------


def test_sms_text_is_short_with_the_reply_menu() -> None:
    assert make_page().sms_text() == (
        "[ilertd] HIGH #42 disk full. Reply 1=accept 2=resolve 3=escalate"
    )


def test_sms_text_does_not_double_the_full_stop() -> None:
    text = make_page(summary="Disk full!").sms_text()
    assert text == "[ilertd] HIGH #42 Disk full! Reply 1=accept 2=resolve 3=escalate"


def test_bundled_sms_names_the_count_and_says_the_reply_acts_on_all() -> None:
    text = make_page(bundled=7, priority="LOW").sms_text()
    assert text == (
        "[ilertd] 7 new alerts for you, latest: LOW #42 disk full. "
        "Reply 1=accept 2=resolve 3=escalate (all 7)"
    )


@pytest.mark.parametrize("max_len", [110, 160, SMS_DEFAULT_MAX])
@pytest.mark.parametrize("bundled", [1, 12])
def test_a_long_summary_is_cut_and_the_menu_kept(max_len: int, bundled: int) -> None:
    text = make_page(summary="x" * 2000, bundled=bundled).sms_text(max_len)
    assert len(text) <= max_len
    assert text.endswith("3=escalate" + (f" (all {bundled})" if bundled > 1 else ""))
    assert "x…" in text


def test_sms_max_len_without_room_for_the_summary_is_refused() -> None:
    with pytest.raises(ValueError, match="no room"):
        make_page().sms_text(40)


def test_sms_offers_only_the_linked_actions_with_their_fixed_digits() -> None:
    page = make_page(links={"accept": LINKS["accept"], "escalate": LINKS["escalate"]})
    assert page.sms_text().endswith("Reply 1=accept 3=escalate")
    assert make_page(links={}).sms_text() == "[ilertd] HIGH #42 disk full"


def test_sms_text_is_one_line_without_controls_or_invisible_characters() -> None:
    summary = "disk\r\nfull\x00\x1b[31m \u2028on\u202e db\u200b-1\t\t!"
    text = make_page(summary=summary).sms_text()
    assert not CONTROLS.search(text)
    assert "\u202e" not in text and "\u200b" not in text
    assert text.startswith("[ilertd] HIGH #42 disk full [31m on db-1 !")


def test_an_empty_summary_still_says_something() -> None:
    assert "(no summary)" in make_page(summary=" \n ").sms_text()


# -- voice -----------------------------------------------------------------------------


def test_voice_text_ends_with_the_keypress_menu() -> None:
    assert make_page().voice_text() == (
        "This is ilertd with a high priority alert 42 from Prometheus: disk full. "
        "Press 1 to accept, 2 to resolve, 3 to escalate."
    )


def test_bundled_voice_text_says_how_many_and_that_keys_act_on_all() -> None:
    text = make_page(bundled=3).voice_text()
    assert text.startswith("This is ilertd. You have 3 new alerts. The latest is a high priority")
    assert text.endswith("Press 1 to accept, 2 to resolve, 3 to escalate all 3 alerts.")


def test_voice_text_keeps_the_summary_short_and_on_one_line() -> None:
    text = make_page(summary="word\n" * 500).voice_text()
    assert not CONTROLS.search(text)
    assert len(text) < VOICE_SUMMARY_MAX + 200
    assert text.endswith("3 to escalate.")


# -- push ------------------------------------------------------------------------------


def test_push_title_and_message() -> None:
    page = make_page()
    assert page.push_title() == "HIGH #42: disk full"
    assert page.push_message() == "/var is 98% full on db-1\nSource: Prometheus"


def test_bundled_push_says_the_actions_apply_to_all() -> None:
    page = make_page(bundled=5)
    assert page.push_title() == "5 new alerts, latest HIGH #42: disk full"
    assert page.push_message().endswith("The actions apply to all 5 alerts.")
    assert [label for _, label, _ in page.actions()] == [
        "Accept all",
        "Resolve all",
        "Escalate all",
    ]


def test_push_texts_are_bounded_and_the_title_is_one_line() -> None:
    page = make_page(summary="s\n" * 1000, details="d" * 10_000)
    assert len(page.push_title()) <= TITLE_MAX and "\n" not in page.push_title()
    assert len(page.push_message()) <= PUSH_DETAILS_MAX + 100


def test_push_message_falls_back_to_the_summary_without_details() -> None:
    assert make_page(details="").push_message() == "disk full\nSource: Prometheus"


# -- e-mail ----------------------------------------------------------------------------


def test_email_subject_has_no_line_breaks_and_is_bounded() -> None:
    subject = make_page(summary="a\r\nBcc: victim@example.com\n" + "x" * 500).email_subject()
    assert subject.startswith("[ilertd] HIGH #42: a Bcc: victim@example.com x")
    assert not CONTROLS.search(subject)
    assert len(subject) <= TITLE_MAX


def test_email_text_lists_each_link_verbatim_on_its_own_line() -> None:
    text = make_page(details="line 1\r\nline 2\x07\n\n\n\nline 3").email_text()
    lines = text.splitlines()
    for action in ACTIONS:
        assert f"{action.capitalize()}: {LINKS[action]}" in lines
    assert "line 1\nline 2\n\nline 3" in text  # CRLF folded, BEL dropped, blank lines squeezed
    assert "Open the alert: https://ilertd.example/alerts/42" in lines


def test_bundled_email_text_says_the_links_act_on_all() -> None:
    text = make_page(bundled=2).email_text()
    assert text.startswith("2 new alerts for you. The latest: HIGH priority alert #42")
    assert "These links act on all 2 alerts." in text


# -- status updates --------------------------------------------------------------------


def test_a_status_update_says_what_happened_on_every_channel() -> None:
    update = make_page(links={}, update="resolved")
    assert update.sms_text() == "[ilertd] Resolved: HIGH #42 disk full"
    assert update.push_title() == "Resolved: HIGH #42: disk full"
    assert update.email_subject() == "[ilertd] Resolved: HIGH #42: disk full"
    assert update.email_intro() == "Resolved: HIGH priority alert #42 from Prometheus"
    assert update.voice_text().startswith("This is ilertd with an update. Resolved: ")
    assert "Press" not in update.voice_text() and "Reply" not in update.sms_text()


def test_a_bundled_status_update_counts_the_alerts() -> None:
    update = make_page(links={}, update="accepted", bundled=3)
    assert update.sms_text() == "[ilertd] 3 alerts accepted, latest: HIGH #42 disk full"
    assert update.push_title() == "3 alerts accepted, latest HIGH #42: disk full"
    assert "3 alerts accepted. The latest is a high priority alert 42" in update.voice_text()


# -- validation and helpers ------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        {"priority": "high"},
        {"priority": "CRITICAL"},
        {"bundled": 0},
        {"bundled": True},
        {"alert_id": "42"},
        {"links": {"snooze": "https://ilertd.example/r/x"}},
        {"links": {"accept": "javascript:alert(1)"}},
        {"links": {"accept": "https://ilertd.example/r/a b"}},
        {"links": {"accept": 'https://ilertd.example/r/"><script>'}},
        {"alert_url": "ftp://ilertd.example/alerts/42"},
        {"alert_url": "/alerts/42"},
        {"update": "ALERT_ACCEPTED"},
        {"update": "snoozed"},
    ],
)
def test_invalid_pages_are_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        make_page(**overrides)


def test_url_errors_do_not_quote_the_secret_link() -> None:
    with pytest.raises(ValueError) as caught:
        make_page(links={"accept": "https://ilertd.example/r/SECRET TOKEN"})
    assert "SECRET" not in str(caught.value)


def test_a_page_keeps_its_own_copy_of_the_links() -> None:
    links = dict(LINKS)
    page = make_page(links=links)
    links["accept"] = "https://evil.example/"
    assert page.links["accept"] == LINKS["accept"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        page.summary = "changed"  # type: ignore[misc]


def test_one_line_and_text_block() -> None:
    assert one_line("  a\r\n\tb\x00c\u2029d  ") == "a b c d"
    assert text_block("a\r\nb\rc\u2028d\x00\x1b\n\n\n\ne  \n") == "a\nb\nc\nd\n\ne"
