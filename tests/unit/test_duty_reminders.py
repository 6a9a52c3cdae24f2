"""Shift reminders, pure: which are due when, the reminders' stream, and what they say."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from eventstore.mapping import EventMapper
from ilertd.domain.duty_reminders import ShiftReminders, shift_reminders_id
from ilertd.domain.registry import build_registry
from ilertd.notify.duties import reminder_email
from ilertd.notify.ntfy import notice
from ilertd.notify.reminder import (
    AT_START_GRACE,
    DutyRule,
    ShiftReminder,
    due_reminders,
    next_opening,
    schedule_users,
    shift_window,
)
from ilertd.oncall import Layer, Schedule, Shift, shifts

NOW = datetime(2026, 11, 22, 8, 45, tzinfo=UTC)
START = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
END = datetime(2026, 11, 22, 17, 0, tzinfo=UTC)
ANN, BOB = 7, 8
EMAIL15 = DutyRule(1, "EMAIL", "ann@example.test", 15)
SMS5 = DutyRule(2, "SMS", "+4915112345678", 5)
AT_START = DutyRule(3, "PUSH", "ilertd-user-7", 0)
HOSTILE = 'Primary\r\nBcc: victim@example.test\n\x00\u202eevil"'


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def due_rules(found: list[Shift], rules: dict[int, list[DutyRule]], now: datetime) -> set[int]:
    return {d.rule.rule_id for d in due_reminders(found, rules, now)}


# --- what is due when ---------------------------------------------------------------------


def test_a_reminder_is_due_from_before_min_until_the_shift_starts() -> None:
    shift = Shift(ANN, START, END)
    rules = {ANN: [EMAIL15, SMS5]}
    assert due_rules([shift], rules, START - minutes(15) - timedelta(seconds=1)) == set()
    assert due_rules([shift], rules, START - minutes(15)) == {1}
    assert due_rules([shift], rules, START - minutes(5)) == {1, 2}
    assert due_rules([shift], rules, START - timedelta(seconds=1)) == {1, 2}
    assert due_rules([shift], rules, START) == set()  # running: too late for a reminder
    (due, _) = due_reminders([shift], rules, START - minutes(1))
    assert (due.opens, due.closes) == (START - minutes(15), START)


def test_before_min_zero_reminds_at_the_start_within_the_grace() -> None:
    shift = Shift(ANN, START, END)
    rules = {ANN: [AT_START]}
    assert due_rules([shift], rules, START - timedelta(seconds=1)) == set()
    assert due_rules([shift], rules, START) == {3}
    assert due_rules([shift], rules, START + AT_START_GRACE - timedelta(seconds=1)) == {3}
    assert due_rules([shift], rules, START + AT_START_GRACE) == set()


def test_only_the_rules_of_the_shifts_user_apply() -> None:
    rules = {ANN: [EMAIL15]}
    assert due_reminders([Shift(BOB, START, END)], rules, NOW) == []
    (due,) = due_reminders([Shift(BOB, START, END), Shift(ANN, START, END)], rules, NOW)
    assert due.shift.user_id == ANN and due.rule == EMAIL15


def test_next_opening_is_the_earliest_window_still_ahead() -> None:
    shift = Shift(ANN, START, END)
    rules = {ANN: [EMAIL15, SMS5]}
    assert next_opening([shift], rules, START - minutes(20)) == START - minutes(15)
    assert next_opening([shift], rules, START - minutes(15)) == START - minutes(5)
    assert next_opening([shift], rules, START - minutes(5)) is None


def test_the_window_looks_ahead_only_the_longest_before_min() -> None:
    start, end = shift_window(NOW, [EMAIL15, SMS5])
    assert start < NOW - AT_START_GRACE
    assert NOW + minutes(15) < end <= NOW + minutes(20)
    assert shift_window(NOW, [AT_START])[1] <= NOW + minutes(5)


def static(*found: Shift, zone: str = "UTC") -> Schedule:
    return Schedule(timezone=zone, layers=(), static_shifts=found)


def test_a_shift_running_already_gets_no_reminder_though_the_window_cuts_it() -> None:
    """shifts() clips a running shift to the window's start; it must not look new."""
    schedule = static(Shift(ANN, NOW - minutes(30), END))
    rules = {ANN: [EMAIL15, AT_START]}
    for now in (NOW, NOW + minutes(1), NOW + AT_START_GRACE):
        found = shifts(schedule, *shift_window(now, rules[ANN]))
        assert [s.user_id for s in found] == [ANN]
        assert due_reminders(found, rules, now) == []


def test_adjacent_shifts_of_one_user_are_one_shift_and_remind_once() -> None:
    """Ann's shift starts in 5 minutes, but she is on call until then already: no reminder;
    Bob's starts when hers ends."""
    schedule = static(
        Shift(ANN, NOW - minutes(60), NOW + minutes(5)),
        Shift(ANN, NOW + minutes(5), START),
        Shift(BOB, START, END),
    )
    rules = {ANN: [EMAIL15], BOB: [EMAIL15]}
    found = shifts(schedule, *shift_window(NOW, [EMAIL15]))
    assert [s.user_id for s in found] == [ANN, BOB]
    (due,) = due_reminders(found, rules, NOW)
    assert due.shift == Shift(BOB, START, due.shift.end)


def test_schedule_users_are_every_layer_static_and_override_user() -> None:
    layer = Layer("l", NOW - minutes(600), None, (ANN, 3), "P1D")
    with_layers = Schedule("UTC", (layer,), overrides=(Shift(9, START, END),))
    assert schedule_users(with_layers) == {ANN, 3, 9}
    assert schedule_users(static(Shift(BOB, START, END))) == {BOB}


# --- the reminders' stream ----------------------------------------------------------------


def test_the_stream_id_names_one_user_schedule_and_start_in_any_zone() -> None:
    berlin = START.astimezone(ZoneInfo("Europe/Berlin"))
    assert shift_reminders_id(ANN, 5, START) == shift_reminders_id(ANN, 5, berlin)
    assert shift_reminders_id(ANN, 5, START) != shift_reminders_id(BOB, 5, START)
    assert shift_reminders_id(ANN, 5, START) != shift_reminders_id(ANN, 6, START)
    assert shift_reminders_id(ANN, 5, START) != shift_reminders_id(ANN, 5, START + minutes(1))


def new_reminders() -> ShiftReminders:
    stream = shift_reminders_id(ANN, 5, START)
    return ShiftReminders(user_id=ANN, schedule_id=5, shift_start=START, shift_end=END, id=stream)


def test_sent_and_given_up_rules_are_done_and_retries_wait() -> None:
    reminders = new_reminders()
    assert reminders.is_due(1, NOW) and reminders.is_due(2, NOW)
    reminders.sent(1, "EMAIL", "ann@example.test", "<id@x>")
    assert not reminders.is_due(1, NOW)
    reminders.failed(2, "SMS", "+49151", "HTTP 503", NOW + minutes(1))
    assert not reminders.is_due(2, NOW) and reminders.is_due(2, NOW + minutes(1))
    assert reminders.attempts[2] == 1
    reminders.failed(2, "SMS", "+49151", "HTTP 503", None)
    assert reminders.attempts[2] == 2 and 2 in reminders.done
    assert not reminders.is_due(2, NOW + minutes(5))


def test_events_are_stored_as_shift_reminders_types_and_read_back() -> None:
    mapper = EventMapper(build_registry())
    reminders = new_reminders()
    reminders.sent(1, "EMAIL", "ann@example.test", "<id@x>")
    reminders.failed(2, "SMS", "+49151", "HTTP 503", NOW + minutes(1))
    rows = mapper.to_new_events(reminders.collect_events(), {"actor": "system:notify"})
    assert [row.type for row in rows] == [
        "shift-reminders-opened",
        "shift-reminders-sent",
        "shift-reminders-failed",
    ]
    assert build_registry().stream_type(ShiftReminders) == "shift-reminders"
    sent, failed = rows[1].data, rows[2].data
    assert b'"rule_id":1' in sent and b'"method":"EMAIL"' in sent and b'"schedule_id":5' in sent
    assert b'"provider_ref":"<id@x>"' in sent and b'"shift_end"' in sent
    assert b'"attempt":1' in failed and b'"retry_at":"2026-11-22T08:46:00+00:00"' in failed


# --- wording ------------------------------------------------------------------------------


def reminder(**fields: object) -> ShiftReminder:
    values: dict[str, object] = {
        "schedule_name": "Primary",
        "start": START,
        "end": END,
        "now": NOW,
    } | fields
    return ShiftReminder(**values)  # type: ignore[arg-type]


def test_wording_in_utc() -> None:
    text = reminder()
    assert text.email_subject() == "[ilertd] On call in 15 min: Primary"
    assert text.push_title() == "On call in 15 min: Primary"
    assert text.text() == (
        'Your on-call shift in schedule "Primary" starts at 2026-11-22 09:00 UTC '
        "(in 15 minutes) and ends at 2026-11-22 17:00 UTC."
    )
    assert text.sms_text() == (
        "[ilertd] On call in 15 min: Primary. Shift 2026-11-22 09:00 UTC to 2026-11-22 17:00 UTC."
    )
    assert text.voice_text() == (
        "This is ilertd. Your on-call shift in schedule Primary starts in 15 minutes, at 09:00 UTC."
    )


def test_wording_in_the_schedules_zone_rounds_minutes_up() -> None:
    text = reminder(zone=ZoneInfo("Europe/Berlin"), now=START - timedelta(seconds=30))
    assert text.minutes_left() == 1
    assert "starts at 2026-11-22 10:00 CET (in 1 minute) and ends at 2026-11-22 18:00 CET" in (
        text.text()
    )


def test_wording_once_the_shift_started() -> None:
    text = reminder(now=START + minutes(2))
    assert text.email_subject() == "[ilertd] On call now: Primary"
    assert text.text().startswith('Your on-call shift in schedule "Primary" started at 2026-11-22')
    assert "started at 09:00 UTC" in text.voice_text()


def test_a_hostile_schedule_name_stays_on_one_line_everywhere() -> None:
    text = reminder(schedule_name=HOSTILE, schedule_url="https://ilertd.example/api/schedules/5")
    for line in (
        text.email_subject(),
        text.push_title(),
        text.text(),
        text.sms_text(),
        text.voice_text(),
    ):
        assert "\n" not in line and "\r" not in line and "\x00" not in line
        assert "\u202e" not in line
        assert "Primary Bcc: victim@example.test evil" in line
    long = reminder(schedule_name="x" * 1000)
    assert len(long.name()) == 80 and long.name().endswith("…")
    assert reminder(schedule_name=" \n\t ").name() == "(unnamed schedule)"

    message = reminder_email("ilertd@example.test", "ann@example.test", text, NOW)
    assert message["Subject"] == (
        '[ilertd] On call in 15 min: Primary Bcc: victim@example.test evil"'
    )
    assert message["Bcc"] is None
    body = message.get_content()
    assert body.splitlines()[0] == text.text()
    assert "https://ilertd.example/api/schedules/5" in body


def test_the_email_is_marked_automatic_and_dated_by_the_clock() -> None:
    message = reminder_email("ilertd@example.test", "ann@example.test", reminder(), NOW)
    assert message["To"] == "ann@example.test" and message["From"] == "ilertd@example.test"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"].endswith("@example.test>")
    assert message["Date"].datetime == NOW
    with pytest.raises(ValueError):
        reminder_email("ilertd@example.test", "ann@example.test\r\nBcc: x@y", reminder(), NOW)


def test_a_push_notice_has_no_actions() -> None:
    assert notice("ilertd-user-7", "On call in 15 min: Primary", "text", click="https://x/s/5") == {
        "topic": "ilertd-user-7",
        "title": "On call in 15 min: Primary",
        "message": "text",
        "priority": 3,
        "tags": ["ilertd"],
        "click": "https://x/s/5",
    }
