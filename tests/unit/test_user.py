"""User aggregate rules, and the role order the API enforces (no database)."""

from __future__ import annotations

import uuid
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest
from eventsourcing.persistence import StoredEvent

from eventstore.mapping import EventMapper
from ilertd.domain.errors import DomainError, InvalidValueError
from ilertd.domain.registry import build_registry
from ilertd.domain.user import MAX_TEXT, MIN_PASSWORD, Profile, Role, User, check_password
from ilertd.http.authz import has_role
from ilertd.security import (
    PASSWORD_HASHER,
    generate_api_key,
    hash_api_key,
    hash_password,
    verify_password,
)

ADA = Profile(email="ada@example.test", first_name="Ada", last_name="Lovelace")


def test_keys_are_issued_once_and_revoked_once() -> None:
    user = User(username="a", email="a@x", role="ADMIN")
    key_id = uuid.uuid4()
    user.issue_api_key(key_id, hash_api_key("k"), "cli")
    with pytest.raises(DomainError):
        user.issue_api_key(key_id, hash_api_key("k2"), "cli")
    user.revoke_api_key(key_id)
    with pytest.raises(DomainError):
        user.revoke_api_key(key_id)
    assert user.role is Role.ADMIN
    assert [type(e).__name__ for e in user.collect_events()] == [
        "Registered",
        "ApiKeyIssued",
        "ApiKeyRevoked",
    ]


def test_unknown_role_is_refused() -> None:
    with pytest.raises(ValueError):
        User(username="a", email="a@x", role="OWNER")
    with pytest.raises(InvalidValueError) as caught:
        User.register(replace(ADA, role="OWNER"))
    assert caught.value.field == "role" and "ADMIN, USER" in str(caught.value)


def test_api_keys_are_random_and_hashed() -> None:
    keys = {generate_api_key() for _ in range(100)}
    assert len(keys) == 100
    key = keys.pop()
    assert key.startswith("ilk_") and len(key) >= 40
    assert hash_api_key(key) == hash_api_key(key) != key
    assert len(hash_api_key(key)) == 64


def test_register_fills_defaults_and_trims() -> None:
    user = User.register(
        Profile(email="  ada@example.test ", first_name=" Ada", last_name="Lovelace ")
    )
    assert user.profile == Profile(
        email="ada@example.test",
        first_name="Ada",
        last_name="Lovelace",
        username="ada@example.test",
        role="USER",
        timezone="UTC",
        language="en",
        muted_until=None,
    )
    assert user.role is Role.USER and not user.deleted


def test_muted_until_is_kept_in_utc() -> None:
    berlin_noon = datetime(2030, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    user = User.register(replace(ADA, muted_until=berlin_noon))
    assert user.muted_until == datetime(2030, 6, 1, 10, 0, tzinfo=UTC)
    assert user.muted_until.tzinfo is UTC


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"email": "not-an-email"}, "email", "email address"),
        ({"email": "a@b@c"}, "email", "email address"),
        ({"email": "a b@c.d"}, "email", "email address"),
        ({"email": "   "}, "email", "empty"),
        ({"first_name": ""}, "firstName", "empty"),
        ({"last_name": " \t "}, "lastName", "empty"),
        ({"first_name": "x" * (MAX_TEXT + 1)}, "firstName", f"at most {MAX_TEXT}"),
        ({"email": "a@" + "b" * MAX_TEXT}, "email", f"at most {MAX_TEXT}"),
        ({"username": "u" * 1000}, "username", f"at most {MAX_TEXT}"),
        ({"last_name": "Love\x00lace"}, "lastName", "control characters"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone", "IANA"),
        ({"timezone": "../../etc/passwd"}, "timezone", "IANA"),
        ({"timezone": "europe/berlin"}, "timezone", "IANA"),
        ({"language": "fr"}, "language", "en, de"),
        ({"role": "admin"}, "role", "one of"),
        ({"muted_until": datetime(2030, 1, 1)}, "mutedUntil", "UTC offset"),
        (
            {"muted_until": datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14)))},
            "mutedUntil",
            "out of range",
        ),
    ],
)
def test_bad_values_name_their_field(change: dict, field: str, words: str) -> None:
    with pytest.raises(InvalidValueError) as caught:
        User.register(replace(ADA, **change))
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ") and words in str(caught.value)


def test_good_edge_values_pass() -> None:
    user = User.register(
        replace(
            ADA,
            email="admin@localhost",
            first_name="Ä" * MAX_TEXT,
            timezone="America/Argentina/Buenos_Aires",
            language="de",
            role="GUEST",
        )
    )
    assert user.timezone == "America/Argentina/Buenos_Aires" and user.role is Role.GUEST


def test_update_replaces_the_whole_profile() -> None:
    user = User.register(
        replace(ADA, timezone="Europe/Berlin", language="de", role="RESPONDER", username="ada")
    )
    user.update(Profile(email="a@x.test", first_name="A", last_name="L"), other_admins=0)
    assert user.profile == Profile(
        email="a@x.test", first_name="A", last_name="L", username="a@x.test"
    )
    events = user.collect_events()
    assert [type(e).__name__ for e in events] == ["Registered", "Updated"]
    assert events[1].timezone == "UTC" and events[1].role == "USER"


def test_a_bad_update_changes_nothing() -> None:
    user = User.register(ADA)
    user.collect_events()
    with pytest.raises(InvalidValueError):
        user.update(replace(ADA, language="xx"), other_admins=1)
    assert user.language == "en" and user.collect_events() == []


def test_the_last_admin_keeps_the_role_and_the_user() -> None:
    admin = User.register(replace(ADA, role="ADMIN"))
    with pytest.raises(DomainError, match="last ADMIN cannot be demoted"):
        admin.update(replace(ADA, role="USER"), other_admins=0)
    with pytest.raises(DomainError, match="last ADMIN cannot be deleted"):
        admin.delete(other_admins=0)
    admin.update(replace(ADA, first_name="Augusta", role="ADMIN"), other_admins=0)  # stays
    assert admin.role is Role.ADMIN and admin.first_name == "Augusta"
    admin.update(replace(ADA, role="USER"), other_admins=1)
    assert admin.role is Role.USER
    admin.delete(other_admins=0)  # no longer an ADMIN
    assert admin.deleted


def test_the_bootstrap_admin_is_never_demoted_or_deleted() -> None:
    admin = User.register(replace(ADA, role="ADMIN"))
    with pytest.raises(DomainError, match="bootstrap admin cannot be demoted"):
        admin.update(replace(ADA, role="RESPONDER"), other_admins=5, is_bootstrap=True)
    with pytest.raises(DomainError, match="bootstrap admin cannot be deleted"):
        admin.delete(other_admins=5, is_bootstrap=True)
    admin.update(
        replace(ADA, email="root@example.test", role="ADMIN"), other_admins=0, is_bootstrap=True
    )
    assert admin.email == "root@example.test" and not admin.deleted


def test_deleting_drops_keys_and_ends_all_changes() -> None:
    user = User.register(ADA)
    key_id = uuid.uuid4()
    user.issue_api_key(key_id, hash_api_key("k"), "laptop")
    user.delete(other_admins=0)
    assert user.deleted and user.api_keys == {}
    with pytest.raises(DomainError, match="deleted"):
        user.update(ADA, other_admins=1)
    with pytest.raises(DomainError, match="deleted"):
        user.delete(other_admins=1)
    with pytest.raises(DomainError, match="deleted"):
        user.issue_api_key(uuid.uuid4(), hash_api_key("k2"), "")
    with pytest.raises(DomainError):
        user.revoke_api_key(key_id)
    assert [type(e).__name__ for e in user.collect_events()] == [
        "Registered",
        "ApiKeyIssued",
        "Deleted",
    ]


def test_key_labels_are_checked_and_trimmed() -> None:
    user = User.register(ADA)
    with pytest.raises(InvalidValueError) as caught:
        user.issue_api_key(uuid.uuid4(), "h", "l" * (MAX_TEXT + 1))
    assert caught.value.field == "label"
    user.issue_api_key(uuid.uuid4(), "h", "  ci  ")
    assert user.collect_events()[-1].label == "ci"


def test_events_replay_including_rows_from_before_muted_until() -> None:
    registry = build_registry()
    mapper = EventMapper(registry)
    user = User.register(replace(ADA, muted_until=datetime(2030, 1, 1, tzinfo=UTC)))
    user.update(replace(ADA, role="RESPONDER"), other_admins=0)
    user.delete(other_admins=0)
    rows = mapper.to_new_events(user.collect_events(), {})
    assert [r.type for r in rows] == ["user-registered", "user-updated", "user-deleted"]

    def replay(datas: list[bytes]) -> User:
        aggregate = None
        for version, (row, data) in enumerate(zip(rows, datas, strict=True), start=1):
            stored = StoredEvent(user.id, version, registry.topic_of(row.type), data)
            aggregate = mapper._mapper.to_domain_event(stored).mutate(aggregate)
        return aggregate

    again = replay([r.data for r in rows])
    assert again.deleted and again.role is Role.RESPONDER and again.muted_until is None
    old_registered = orjson.loads(rows[0].data)
    del old_registered["muted_until"]
    first = replay([orjson.dumps(old_registered), rows[1].data, rows[2].data])
    assert asdict(first.profile) == asdict(again.profile)


@pytest.mark.parametrize(
    ("role", "minimum", "allowed"),
    [
        ("ADMIN", Role.ADMIN, True),
        ("USER", Role.ADMIN, False),
        ("USER", Role.RESPONDER, True),
        ("RESPONDER", Role.RESPONDER, True),
        ("STAKEHOLDER", Role.RESPONDER, False),
        ("STAKEHOLDER", Role.GUEST, True),
        ("GUEST", Role.STAKEHOLDER, False),
        ("OWNER", Role.GUEST, False),
    ],
)
def test_role_order(role: str, minimum: Role, allowed: bool) -> None:
    assert has_role({"role": role}, minimum) is allowed


#: a value for every profile field, none of them its default
EVERY_FIELD = Profile(
    email="ann@example.test",
    first_name="Ann",
    last_name="Lee",
    username="ann",
    role="RESPONDER",
    timezone="Europe/Berlin",
    language="de",
    muted_until=datetime(2031, 5, 1, 8, tzinfo=UTC),
    position="SRE",
    department="Operations",
    region="DE",
    shift_color="#ff9900",
)


def test_every_profile_field_survives_both_events_and_a_replay() -> None:
    """A field added to Profile but not to the aggregate's events fails here (the event
    would not carry it, or registering would refuse the keyword)."""
    defaults = Profile(email="x@example.test", first_name="X", last_name="Y")
    for name, value in asdict(EVERY_FIELD).items():
        assert value != getattr(defaults, name), f"EVERY_FIELD leaves {name} at its default"
    registry = build_registry()
    mapper = EventMapper(registry)
    user = User.register(defaults)
    user.update(EVERY_FIELD, other_admins=0)
    assert user.profile == EVERY_FIELD
    fresh = User.register(EVERY_FIELD)
    assert replace(fresh.profile, username="ann") == EVERY_FIELD
    rows = mapper.to_new_events(user.collect_events(), {})
    again = None
    for version, row in enumerate(rows, start=1):
        stored = StoredEvent(user.id, version, registry.topic_of(row.type), row.data)
        again = mapper._mapper.to_domain_event(stored).mutate(again)
    assert again is not None and again.profile == EVERY_FIELD


def test_every_profile_field_is_on_the_wire() -> None:
    """The request body type has each Profile field under its wire name, so ``_profile``
    (which reads them generically) and the document both carry a new field."""
    from dataclasses import fields

    from ilertd.contract.users import User as UserBody
    from ilertd.http.users import wire_name

    on_the_wire = set(UserBody.__struct_fields__)
    assert wire_name("shift_color") == "shiftColor"
    assert {wire_name(f.name) for f in fields(Profile)} <= on_the_wire


@pytest.mark.parametrize(
    ("color", "ok"),
    [("#1E88E5", True), ("", True), ("1e88e5", False), ("#1e88e", False), ("#1e88e5 ", True)],
)
def test_shift_colours_are_hex_and_kept_lower_case(color: str, ok: bool) -> None:
    profile = replace(ADA, shift_color=color)
    if ok:
        assert User.register(profile).shift_color == color.strip().lower()
    else:
        with pytest.raises(InvalidValueError) as raised:
            User.register(profile)
        assert raised.value.field == "shiftColor"


# --- passwords ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("short pass1", "at least 12"),
        ("x" * 1025, "at most 1024"),
        ("twelve chars\n!", "control"),
        (" " * 12, "only spaces"),
        (12345678901234, "string"),
    ],
)
def test_password_rules_name_the_field_and_never_repeat_it(password: object, why: str) -> None:
    with pytest.raises(InvalidValueError) as caught:
        check_password(password)  # type: ignore[arg-type]
    assert caught.value.field == "password" and why in str(caught.value)
    assert str(password) not in str(caught.value)


def test_a_good_password_passes_unchanged() -> None:
    assert check_password(" correct horse ") == " correct horse "  # spaces are kept
    assert check_password("x" * MIN_PASSWORD) == "x" * MIN_PASSWORD


def test_the_password_event_carries_only_the_hash_and_replays() -> None:
    registry = build_registry()
    mapper = EventMapper(registry)
    user = User.register(ADA)
    assert not user.has_password
    password = "correct horse battery"
    hashed = PASSWORD_HASHER.hash(password)
    user.set_password(hashed)
    user.set_password(hashed)  # setting it again is a new event, harmless
    with pytest.raises(DomainError, match="argon2"):
        user.set_password(password)  # a plain password never reaches an event
    rows = mapper.to_new_events(user.collect_events(), {})
    assert [r.type for r in rows] == ["user-registered", "user-password-set", "user-password-set"]
    assert set(orjson.loads(rows[1].data)) == {"password_hash", "timestamp"}
    assert orjson.loads(rows[1].data)["password_hash"] == hashed
    assert all(password.encode() not in r.data for r in rows)
    aggregate = None
    for version, row in enumerate(rows, start=1):
        stored = StoredEvent(user.id, version, registry.topic_of(row.type), row.data)
        aggregate = mapper._mapper.to_domain_event(stored).mutate(aggregate)
    assert aggregate is not None and aggregate.password_hash == hashed
    aggregate.delete(other_admins=1)
    assert not aggregate.has_password
    with pytest.raises(DomainError, match="deleted"):
        aggregate.set_password(hashed)


async def test_password_hashes_are_salted_argon2id_and_verified_in_a_thread() -> None:
    first = await hash_password("correct horse battery")
    second = await hash_password("correct horse battery")
    assert first.startswith("$argon2id$") and first != second  # salted
    assert "correct horse" not in first
    assert await verify_password(first, "correct horse battery")
    assert await verify_password(second, "correct horse battery")
    assert not await verify_password(first, "correct horse batterY")
    assert not await verify_password(None, "correct horse battery")  # the decoy never matches
    assert not await verify_password("not a hash", "correct horse battery")
