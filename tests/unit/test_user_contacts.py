"""A user's contacts and notification rules: the aggregate's rules (no database)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace

import orjson
import pytest
from eventsourcing.persistence import StoredEvent

from eventstore.mapping import EventMapper
from eventstore.records import NewEvent
from ilertd.domain.errors import DomainError, InvalidValueError
from ilertd.domain.registry import build_registry
from ilertd.domain.user import (
    MAX_CONTACTS,
    MAX_RULES,
    Contact,
    NoSuchItemError,
    NotificationRule,
    RuleSettings,
    User,
)

PHONE = "+49 (151) 123-456 78"


def user() -> User:
    return User(username="ada", email="ada@example.test", role="USER")


def user_with_contacts() -> tuple[User, int, int]:
    """A user with one email contact and one phone number; their ids."""
    ada = user()
    return ada, ada.add_contact("EMAIL", "ada@example.test"), ada.add_contact("PHONE", PHONE)


def field_of(call: Callable[..., object], *args: object) -> str:
    """The field the InvalidValueError of ``call(*args)`` names."""
    with pytest.raises(InvalidValueError) as caught:
        call(*args)
    return caught.value.field


# --- contacts -----------------------------------------------------------------------------


def test_contacts_get_increasing_ids_and_normalised_targets() -> None:
    ada = user()
    email = ada.add_contact("EMAIL", "  Ada@Example.test ", primary=True)
    phone = ada.add_contact("PHONE", PHONE, region_code=" de ")
    assert (email, phone) == (1, 2)
    assert ada.contacts == {
        1: Contact("EMAIL", "Ada@Example.test", None, True),
        2: Contact("PHONE", "+4915112345678", "DE", False),
    }
    assert ada.next_item_id == 3
    assert [type(e).__name__ for e in ada.collect_events()] == [
        "Registered",
        "ContactAdded",
        "ContactAdded",
    ]


@pytest.mark.parametrize(
    ("channel", "target", "region", "field"),
    [
        ("EMAIL", "not an address", None, "target"),
        ("EMAIL", "", None, "target"),
        ("EMAIL", "a@b", "DE", "regionCode"),
        ("EMAIL", 42, None, "target"),
        ("PHONE", "0151 1234567", None, "target"),  # no leading +
        ("PHONE", "+49 151", None, "target"),  # too short
        ("PHONE", "+1234567890123456", None, "target"),  # 16 digits
        ("PHONE", "+49 151 abc 4567", None, "target"),
        ("PHONE", "+4915112345678", "DEU", "regionCode"),
        ("PHONE", "+4915112345678", "1A", "regionCode"),
        ("FAX", "+4915112345678", None, "channel"),
    ],
)
def test_bad_contacts_name_the_field(
    channel: str, target: object, region: str | None, field: str
) -> None:
    assert field_of(user().add_contact, channel, target, region) == field


def test_primary_must_be_a_boolean() -> None:
    assert field_of(user().add_contact, "EMAIL", "a@b.c", None, "yes") == "primary"


def test_phone_numbers_of_8_and_15_digits_are_fine() -> None:
    ada = user()
    ada.add_contact("PHONE", "+12345678")
    ada.add_contact("PHONE", "+123456789012345", region_code=" ")  # blank: no region
    assert [(c.target, c.region_code) for c in ada.contacts.values()] == [
        ("+12345678", None),
        ("+123456789012345", None),
    ]


def test_duplicate_contacts_conflict_ignoring_format_and_case() -> None:
    ada, _, _ = user_with_contacts()
    with pytest.raises(DomainError, match="already exists") as caught:
        ada.add_contact("EMAIL", "ADA@example.TEST")
    assert not isinstance(caught.value, InvalidValueError)
    with pytest.raises(DomainError, match="already exists"):
        ada.add_contact("PHONE", "+4915112345678")
    # the same text on another channel is no duplicate; nor is changing a contact to itself
    ada.change_contact(2, "+49 151 12345678", None, False)


def test_at_most_max_contacts() -> None:
    ada = user()
    for n in range(MAX_CONTACTS):
        ada.add_contact("EMAIL", f"ada{n}@example.test")
    with pytest.raises(DomainError, match=f"at most {MAX_CONTACTS}"):
        ada.add_contact("EMAIL", "one.more@example.test")
    ada.remove_contact(1)
    assert ada.add_contact("EMAIL", "one.more@example.test") == MAX_CONTACTS + 1


def test_one_primary_per_channel() -> None:
    ada = user()
    first = ada.add_contact("EMAIL", "a@example.test", primary=True)
    phone = ada.add_contact("PHONE", PHONE, primary=True)
    second = ada.add_contact("EMAIL", "b@example.test", primary=True)
    assert [ada.contacts[i].primary for i in (first, phone, second)] == [False, True, True]
    ada.change_contact(first, "a@example.test", primary=True)
    assert [ada.contacts[i].primary for i in (first, phone, second)] == [True, True, False]


def test_change_contact_keeps_the_channel_and_records_nothing_when_unchanged() -> None:
    ada, email, phone = user_with_contacts()
    ada.collect_events()
    ada.change_contact(phone, "+44 20 7946 0000", "gb", True)
    assert ada.contacts[phone] == Contact("PHONE", "+442079460000", "GB", True)
    ada.change_contact(phone, "+442079460000", "GB", True)
    assert [type(e).__name__ for e in ada.collect_events()] == ["ContactChanged"]
    with pytest.raises(InvalidValueError) as caught:
        ada.change_contact(email, "+442079460001")  # an email contact stays an email one
    assert caught.value.field == "target"
    ada.add_contact("EMAIL", "b@example.test")
    with pytest.raises(DomainError, match="already exists"):
        ada.change_contact(email, "B@example.test")


def test_unknown_items_are_no_such_item_errors() -> None:
    ada, _, _ = user_with_contacts()
    for call in (
        lambda: ada.change_contact(99, "x@example.test"),
        lambda: ada.remove_contact(99),
        lambda: ada.change_rule(99, RuleSettings("PUSH", type="HIGH_PRIORITY")),
        lambda: ada.remove_rule(99),
    ):
        with pytest.raises(NoSuchItemError):
            call()


def test_a_contact_in_use_cannot_be_removed() -> None:
    ada, email, phone = user_with_contacts()
    rule = ada.add_rule("alerts", RuleSettings("SMS", phone, 5, type="HIGH_PRIORITY"))
    with pytest.raises(DomainError, match=f"used by notification rule\\(s\\) {rule}"):
        ada.remove_contact(phone)
    ada.remove_rule(rule)
    ada.remove_contact(phone)
    ada.remove_contact(email)
    assert ada.contacts == {} and ada.rules == {}


def test_ids_are_never_reused() -> None:
    ada, email, phone = user_with_contacts()
    ada.remove_contact(phone)
    rule = ada.add_rule("updates", RuleSettings("EMAIL", email, type="ALERT_RESOLVED"))
    ada.remove_rule(rule)
    assert ada.add_contact("PHONE", PHONE) == rule + 1 == 4


# --- notification rules -------------------------------------------------------------------


def test_rules_of_each_kind() -> None:
    ada, email, phone = user_with_contacts()
    alerts = ada.add_rule("alerts", RuleSettings("VOICE", phone, 10, type="LOW_PRIORITY"))
    duties = ada.add_rule("duties", RuleSettings("EMAIL", email, before_min=60))
    updates = ada.add_rule("updates", RuleSettings("PUSH", type="ALERT_ESCALATED"))
    immediate = ada.add_rule("alerts", RuleSettings("PUSH", type="HIGH_PRIORITY"))
    at_start = ada.add_rule("duties", RuleSettings("SMS", phone))
    assert ada.rules == {
        alerts: NotificationRule("alerts", "VOICE", phone, 10, "LOW_PRIORITY"),
        duties: NotificationRule("duties", "EMAIL", email, before_min=60),
        updates: NotificationRule("updates", "PUSH", update_type="ALERT_ESCALATED"),
        immediate: NotificationRule("alerts", "PUSH", delay_min=0, priority_type="HIGH_PRIORITY"),
        at_start: NotificationRule("duties", "SMS", phone, before_min=0),
    }
    assert [type(e).__name__ for e in ada.collect_events()][-5:] == ["NotificationRuleAdded"] * 5


@pytest.mark.parametrize(
    ("kind", "settings", "field"),
    [
        ("pages", RuleSettings("PUSH"), "kind"),
        ("alerts", RuleSettings("FAX", type="HIGH_PRIORITY"), "method"),
        ("duties", RuleSettings("VOICE", 2), "method"),  # VOICE is for alerts only
        ("updates", RuleSettings("VOICE", 2, type="ALERT_ACCEPTED"), "method"),
        ("alerts", RuleSettings(None, type="HIGH_PRIORITY"), "method"),  # type: ignore[arg-type]
        ("alerts", RuleSettings("PUSH"), "type"),
        ("alerts", RuleSettings("PUSH", type="URGENT"), "type"),
        ("updates", RuleSettings("PUSH", type="HIGH_PRIORITY"), "type"),
        ("updates", RuleSettings("PUSH"), "type"),
        ("alerts", RuleSettings("PUSH", delay_min=-1, type="HIGH_PRIORITY"), "delayMin"),
        ("alerts", RuleSettings("PUSH", delay_min=121, type="HIGH_PRIORITY"), "delayMin"),
        ("alerts", RuleSettings("PUSH", delay_min=True, type="HIGH_PRIORITY"), "delayMin"),
        ("duties", RuleSettings("PUSH", before_min=10081), "beforeMin"),
        ("duties", RuleSettings("PUSH", before_min=-5), "beforeMin"),
        ("duties", RuleSettings("PUSH", type="HIGH_PRIORITY"), "type"),
        ("alerts", RuleSettings("PUSH", before_min=5, type="HIGH_PRIORITY"), "beforeMin"),
        ("updates", RuleSettings("PUSH", delay_min=5, type="ALERT_ACCEPTED"), "delayMin"),
        ("alerts", RuleSettings("PUSH", 1, type="HIGH_PRIORITY"), "contact"),  # PUSH: none
        ("alerts", RuleSettings("EMAIL", type="HIGH_PRIORITY"), "contact"),  # EMAIL: needed
        ("alerts", RuleSettings("SMS", 1, type="HIGH_PRIORITY"), "contact"),  # an email one
        ("alerts", RuleSettings("EMAIL", 2, type="HIGH_PRIORITY"), "contact"),  # a phone one
        ("duties", RuleSettings("SMS", 99), "contact"),  # no such contact
        ("duties", RuleSettings("SMS", "2"), "contact"),  # type: ignore[arg-type]
    ],
)
def test_bad_rules_name_the_field(kind: str, settings: RuleSettings, field: str) -> None:
    ada, _, _ = user_with_contacts()
    assert field_of(ada.add_rule, kind, settings) == field


def test_limits_of_delay_and_before() -> None:
    ada, _, _ = user_with_contacts()
    ada.add_rule("alerts", RuleSettings("PUSH", delay_min=120, type="HIGH_PRIORITY"))
    ada.add_rule("duties", RuleSettings("PUSH", before_min=10080))
    assert sorted(r.delay_min or r.before_min for r in ada.rules.values()) == [120, 10080]


def test_at_most_max_rules() -> None:
    ada = user()
    for _ in range(MAX_RULES):
        ada.add_rule("updates", RuleSettings("PUSH", type="ALERT_ACCEPTED"))
    with pytest.raises(DomainError, match=f"at most {MAX_RULES}"):
        ada.add_rule("updates", RuleSettings("PUSH", type="ALERT_ACCEPTED"))


def test_change_rule_keeps_the_kind_and_records_nothing_when_unchanged() -> None:
    ada, email, phone = user_with_contacts()
    rule = ada.add_rule("alerts", RuleSettings("SMS", phone, 5, type="HIGH_PRIORITY"))
    ada.collect_events()
    ada.change_rule(rule, RuleSettings("EMAIL", email, 0, type="LOW_PRIORITY"))
    ada.change_rule(rule, RuleSettings("EMAIL", email, type="LOW_PRIORITY"))  # 0 is default
    assert ada.rules[rule] == NotificationRule("alerts", "EMAIL", email, 0, "LOW_PRIORITY")
    assert [type(e).__name__ for e in ada.collect_events()] == ["NotificationRuleChanged"]
    with pytest.raises(InvalidValueError) as caught:
        ada.change_rule(rule, RuleSettings("PUSH", before_min=5))  # a duties setting
    assert caught.value.field == "beforeMin"


def test_a_deleted_user_refuses_item_commands_and_loses_its_items() -> None:
    ada, email, phone = user_with_contacts()
    rule = ada.add_rule("duties", RuleSettings("SMS", phone))
    ada.delete(other_admins=1)
    assert ada.contacts == {} and ada.rules == {}
    for call in (
        lambda: ada.add_contact("EMAIL", "z@example.test"),
        lambda: ada.change_contact(email, "z@example.test"),
        lambda: ada.remove_contact(email),
        lambda: ada.add_rule("updates", RuleSettings("PUSH", type="ALERT_ACCEPTED")),
        lambda: ada.change_rule(rule, RuleSettings("PUSH")),
        lambda: ada.remove_rule(rule),
    ):
        with pytest.raises(DomainError, match="was deleted"):
            call()


# --- storage ------------------------------------------------------------------------------


def replay(user_id: uuid.UUID, rows: list[NewEvent]) -> User:
    """The aggregate the stored rows give back, as the repository loads it."""
    registry = build_registry()
    mapper = EventMapper(registry)
    aggregate = None
    for version, row in enumerate(rows, start=1):
        stored = StoredEvent(user_id, version, registry.topic_of(row.type), row.data)
        aggregate = mapper._mapper.to_domain_event(stored).mutate(aggregate)
    assert isinstance(aggregate, User)
    return aggregate


def test_events_are_stored_flat_and_replay_to_the_same_state() -> None:
    mapper = EventMapper(build_registry())
    ada, email, phone = user_with_contacts()
    rule = ada.add_rule("alerts", RuleSettings("SMS", phone, 3, type="HIGH_PRIORITY"))
    ada.change_contact(email, "ada@example.test", primary=True)
    ada.change_rule(rule, RuleSettings("VOICE", phone, 4, type="HIGH_PRIORITY"))
    gone = ada.add_rule("updates", RuleSettings("PUSH", type="ALERT_ACCEPTED"))
    ada.remove_rule(gone)
    rows = mapper.to_new_events(ada.collect_events(), {})
    assert [row.type for row in rows] == [
        "user-registered",
        "user-contact-added",
        "user-contact-added",
        "user-notification-rule-added",
        "user-contact-changed",
        "user-notification-rule-changed",
        "user-notification-rule-added",
        "user-notification-rule-removed",
    ]
    data = orjson.loads(rows[3].data)
    assert {key: data[key] for key in data.keys() - {"timestamp"}} == {
        "rule_id": 3,
        "kind": "alerts",
        "method": "SMS",
        "contact_id": 2,
        "delay_min": 3,
        "priority_type": "HIGH_PRIORITY",
        "before_min": None,
        "update_type": None,
    }
    again = replay(ada.id, rows)
    assert (again.contacts, again.rules, again.next_item_id) == (
        ada.contacts,
        ada.rules,
        ada.next_item_id,
    )
    assert again.add_contact("EMAIL", "new@example.test") == 5  # removed id 4 stays used


def test_an_old_stream_replays_and_then_takes_items() -> None:
    """A stream written before contacts existed: its events replay, and ids start at 1."""
    mapper = EventMapper(build_registry())
    ada = user()
    ada.issue_api_key(uuid.uuid4(), "hash", "cli")
    ada.update(replace(ada.profile, first_name="Ada", last_name="L"), other_admins=0)
    again = replay(ada.id, mapper.to_new_events(ada.collect_events(), {}))
    assert again.contacts == {} and again.rules == {}
    assert again.add_contact("EMAIL", "ada@example.test") == 1
    assert again.add_rule("alerts", RuleSettings("EMAIL", 1, type="HIGH_PRIORITY")) == 2


def test_an_aggregate_built_without_the_counter_still_takes_items() -> None:
    """Handlers set the counter up lazily when an aggregate lacks it."""
    ada = user()
    del ada.contacts, ada.rules, ada.next_item_id
    assert ada.add_contact("EMAIL", "ada@example.test") == 1
    assert ada.next_item_id == 2
