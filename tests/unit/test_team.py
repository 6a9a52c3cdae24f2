"""Team aggregate rules, the team-role rule (a team role raises, never lowers) and the
``team-context`` header parser."""

from __future__ import annotations

from typing import Any

import pytest

from ilertd.domain.errors import DomainError, InvalidValueError
from ilertd.domain.registry import build_registry
from ilertd.domain.team import NotAMemberError, Team, may_act, raised_role
from ilertd.domain.user import Role
from ilertd.http.problems import ProblemError
from ilertd.http.teams import ALL_TEAMS, MY_TEAMS, TeamContext, parse_team_context


def make(**settings: Any) -> Team:
    return Team.create(**{"name": "Ops", **settings})


def event_names(team: Team) -> list[str]:
    return [type(e).__name__ for e in team.collect_events()]


def test_defaults_and_normalisation() -> None:
    team = make(name="  Ops  ", members=[{"user": 7, "role": None}, {"user": 8, "role": "ADMIN"}])
    assert team.settings == {
        "name": "Ops",
        "visibility": "PUBLIC",
        "members": [{"user": 7, "role": "RESPONDER"}, {"user": 8, "role": "ADMIN"}],
    }
    assert event_names(team) == ["Created"]


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"name": " "}, "name"),
        ({"name": 5}, "name"),
        ({"visibility": "SECRET"}, "visibility"),
        ({"members": {"user": 1}}, "members"),
        ({"members": [{"user": 1}, "x"]}, "members[1]"),
        ({"members": [{"user": 0}]}, "members[0].user"),
        ({"members": [{"user": True}]}, "members[0].user"),
        ({"members": [{"user": 2**63}]}, "members[0].user"),
        ({"members": [{"user": 1, "role": "GUEST"}]}, "members[0].role"),
        ({"members": [{"user": 1}, {"user": 2}, {"user": 1}]}, "members[2].user"),
    ],
)
def test_bad_settings_name_the_field(settings: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidValueError) as raised:
        make(**settings)
    assert raised.value.field == field


def test_put_records_only_a_change() -> None:
    team = make(members=[{"user": 7, "role": "USER"}])
    team.collect_events()
    team.update(name="Ops", visibility="PUBLIC", members=[{"user": 7, "role": "USER"}])
    assert event_names(team) == []
    team.update(name="Ops", visibility="PRIVATE")
    assert event_names(team) == ["Updated"]
    assert (team.visibility, team.members) == ("PRIVATE", [])


def test_members_are_added_re_roled_and_removed() -> None:
    team = make()
    team.collect_events()
    assert team.add_member({"user": 5, "role": "STAKEHOLDER"}) is True
    assert team.add_member({"user": 5, "role": "STAKEHOLDER"}) is False
    assert team.add_member({"user": 5, "role": "ADMIN"}) is True
    assert event_names(team) == ["MemberAdded", "MemberRoleChanged"]
    assert team.role_of(5) == "ADMIN"
    with pytest.raises(InvalidValueError) as raised:
        team.add_member({"user": 6, "role": "OWNER"})
    assert raised.value.field == "role"
    team.remove_member(5)
    assert team.members == []
    with pytest.raises(NotAMemberError):
        team.remove_member(5)


def test_a_deleted_team_refuses_commands() -> None:
    team = make()
    team.delete()
    for command in (
        lambda: team.add_member({"user": 1}),
        lambda: team.remove_member(1),
        lambda: team.update(name="X"),
        team.delete,
    ):
        with pytest.raises(DomainError):
            command()


def test_events_are_registered_under_team_names() -> None:
    registry = build_registry()
    for name in (
        "team-created",
        "team-updated",
        "team-member-added",
        "team-member-role-changed",
        "team-member-removed",
        "team-deleted",
    ):
        assert registry.knows(name), name


@pytest.mark.parametrize(
    ("account", "team", "expected"),
    [
        ("USER", "ADMIN", Role.ADMIN),  # raised within the team
        ("GUEST", "RESPONDER", Role.RESPONDER),
        ("ADMIN", "VIEWER", Role.ADMIN),  # never lowered
        ("RESPONDER", None, Role.RESPONDER),  # not a member
        ("STAKEHOLDER", "VIEWER", Role.STAKEHOLDER),
        ("GUEST", "VIEWER", Role.GUEST),
        ("NOBODY", "USER", Role.USER),  # an unknown account role grants nothing of itself
        ("NOBODY", "OWNER", None),
    ],
)
def test_a_team_role_raises_rights_and_never_lowers_them(
    account: str, team: str | None, expected: Role | None
) -> None:
    assert raised_role(account, team) == expected


def test_may_act_compares_with_the_minimum() -> None:
    assert may_act("USER", "ADMIN", Role.ADMIN)
    assert not may_act("USER", "USER", Role.ADMIN)
    assert not may_act("GUEST", None, Role.STAKEHOLDER)
    assert may_act("ADMIN", None, Role.ADMIN)
    assert not may_act("NOBODY", "OWNER", Role.GUEST)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ALL_TEAMS),
        ("", ALL_TEAMS),
        ("0", ALL_TEAMS),
        (" 0 ", ALL_TEAMS),
        ("-1", MY_TEAMS),
        ("42", TeamContext("team", 42)),
        (str(2**63 - 1), TeamContext("team", 2**63 - 1)),
    ],
)
def test_team_context_values(value: str | None, expected: TeamContext) -> None:
    assert parse_team_context(value) == expected


@pytest.mark.parametrize("value", ["-2", "abc", "1.5", "00x", str(2**63), "٤٢", "-0x1"])
def test_team_context_rejects_other_values_naming_the_header(value: str) -> None:
    with pytest.raises(ProblemError) as raised:
        parse_team_context(value)
    assert (raised.value.status, raised.value.field) == (400, "team-context")
