"""EscalationPolicy aggregate rules: validation, PUT semantics, levels, deletion."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from eventsourcing.utils import get_topic

from ilertd.domain.errors import DomainError, InvalidValueError
from ilertd.domain.escalation_policy import EscalationPolicy, NoSuchLevelError
from ilertd.domain.registry import build_registry


def rule(timeout_s: int = 300, users: Any = (7,), schedules: Any = ()) -> dict[str, Any]:
    return {"escalation_timeout_s": timeout_s, "users": list(users), "schedules": list(schedules)}


def make(**settings: Any) -> EscalationPolicy:
    return EscalationPolicy.create(**{"name": "Ops", "escalation_rules": [rule()], **settings})


def event_names(policy: EscalationPolicy) -> list[str]:
    return [type(e).__name__ for e in policy.collect_events()]


def test_defaults_and_normalisation() -> None:
    policy = make(name="  Ops  ", escalation_rules=[rule(60, users=[7, 8, 7], schedules=[3])])
    assert policy.settings == {
        "name": "Ops",
        "escalation_rules": [{"escalation_timeout_s": 60, "users": [7, 8], "schedules": [3]}],
        "repeating": False,
        "frequency": 1,
        "delay_min": 0,
        "routing_key": None,
        "teams": [],
    }
    assert not policy.deleted
    assert event_names(policy) == ["Created"]


def test_every_setting_and_a_chosen_id() -> None:
    chosen = uuid.uuid4()
    policy = make(
        id=chosen,
        escalation_rules=[rule(30, users=[], schedules=[9]), rule(600, users=[1, 2])],
        repeating=True,
        frequency=9,
        delay_min=15,
        routing_key=" db-team ",
        teams=[4, 4, 5],
    )
    assert policy.id == chosen
    assert policy.repeating and policy.frequency == 9 and policy.delay_min == 15
    assert policy.routing_key == "db-team"
    assert policy.teams == [4, 5]
    assert len(policy.escalation_rules) == 2


def test_blank_routing_key_is_none() -> None:
    assert make(routing_key="   ").routing_key is None


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"name": "x" * 256}, "name"),
        ({"name": "a\nb"}, "name"),
        ({"escalation_rules": []}, "escalationRules"),
        ({"escalation_rules": None}, "escalationRules"),
        ({"escalation_rules": [rule()] * 51}, "escalationRules"),
        ({"escalation_rules": [rule(), "x"]}, "escalationRules[1]"),
        ({"escalation_rules": [rule(), rule(0)]}, "escalationRules[1].escalationTimeout"),
        ({"escalation_rules": [rule(True)]}, "escalationRules[0].escalationTimeout"),
        ({"escalation_rules": [rule(366 * 86_400)]}, "escalationRules[0].escalationTimeout"),
        ({"escalation_rules": [rule(users=[])]}, "escalationRules[0]"),
        ({"escalation_rules": [rule(users=[0])]}, "escalationRules[0].users[0]"),
        ({"escalation_rules": [rule(users=[1, -2])]}, "escalationRules[0].users[1]"),
        ({"escalation_rules": [rule(users=[2**63])]}, "escalationRules[0].users[0]"),
        ({"escalation_rules": [rule(schedules=["1"])]}, "escalationRules[0].schedules[0]"),
        ({"escalation_rules": [rule(users=list(range(1, 102)))]}, "escalationRules[0].users"),
        ({"repeating": "yes"}, "repeating"),
        ({"repeating": 1}, "repeating"),
        ({"frequency": 0}, "frequency"),
        ({"frequency": 10}, "frequency"),
        ({"frequency": 2.0}, "frequency"),
        ({"delay_min": -1}, "delayMin"),
        ({"delay_min": True}, "delayMin"),
        ({"routing_key": 5}, "routingKey"),
        ({"routing_key": "k" * 256}, "routingKey"),
        ({"routing_key": "a\x00b"}, "routingKey"),
        ({"teams": "1"}, "teams"),
        ({"teams": [1, 0]}, "teams[1]"),
    ],
)
def test_bad_settings_name_the_field(settings: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidValueError) as caught:
        make(**settings)
    assert caught.value.field == field
    assert str(caught.value).startswith(field + ":")


def test_update_replaces_everything_and_records_nothing_when_unchanged() -> None:
    policy = make(repeating=True, frequency=3, routing_key="k", teams=[1])
    policy.collect_events()
    policy.update(name="Ops", escalation_rules=[rule()], repeating=True, frequency=3,
                  routing_key="k", teams=[1])  # fmt: skip
    assert event_names(policy) == []
    policy.update(name="New", escalation_rules=[rule(60, users=[9])])
    assert event_names(policy) == ["Updated"]
    assert policy.settings == {
        "name": "New",
        "escalation_rules": [rule(60, users=[9])],
        "repeating": False,
        "frequency": 1,
        "delay_min": 0,
        "routing_key": None,
        "teams": [],
    }


def test_update_validates_before_recording() -> None:
    policy = make()
    policy.collect_events()
    with pytest.raises(InvalidValueError):
        policy.update(name="x", escalation_rules=[rule(users=[])])
    assert event_names(policy) == [] and policy.name == "Ops"


def test_replace_rule_by_level() -> None:
    policy = make(escalation_rules=[rule(60), rule(120, users=[8])])
    policy.collect_events()
    policy.replace_rule(1, rule(30, users=[], schedules=[4]))
    assert event_names(policy) == ["RuleReplaced"]
    assert policy.escalation_rules == [rule(60), rule(30, users=[], schedules=[4])]
    policy.replace_rule(1, rule(30, users=[], schedules=[4]))
    assert event_names(policy) == []


@pytest.mark.parametrize("level", [2, -1, 100])
def test_replace_rule_of_a_missing_level_fails(level: int) -> None:
    policy = make(escalation_rules=[rule(), rule()])
    with pytest.raises(NoSuchLevelError):
        policy.replace_rule(level, rule())


@pytest.mark.parametrize(
    ("new", "field"),
    [
        (rule(0), "escalationTimeout"),
        (rule(users=[]), "users"),
        (rule(users=[0]), "users[0]"),
        ("x", "body"),
    ],
)
def test_replace_rule_names_the_rules_own_fields(new: Any, field: str) -> None:
    policy = make()
    with pytest.raises(InvalidValueError) as caught:
        policy.replace_rule(0, new)
    assert caught.value.field == field


def test_deleted_policy_refuses_commands() -> None:
    policy = make()
    policy.delete()
    assert policy.deleted
    assert event_names(policy) == ["Created", "Deleted"]
    for command in (
        lambda: policy.update(name="x", escalation_rules=[rule()]),
        lambda: policy.replace_rule(0, rule()),
        policy.delete,
    ):
        with pytest.raises(DomainError):
            command()


def test_events_have_kebab_case_names() -> None:
    registry = build_registry()
    policy = make()
    policy.update(name="x", escalation_rules=[rule()])
    policy.replace_rule(0, rule(60))
    policy.delete()
    names = [registry.type_of(get_topic(type(e))) for e in policy.collect_events()]
    assert names == [
        "escalation-policy-created",
        "escalation-policy-updated",
        "escalation-policy-rule-replaced",
        "escalation-policy-deleted",
    ]
