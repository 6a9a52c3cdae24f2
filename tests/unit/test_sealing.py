"""Sealing without a database: keys, rotation, the key file, and what the mapper writes."""

from __future__ import annotations

import stat
from pathlib import Path

import orjson
import pytest
import structlog.testing
from eventsourcing.utils import resolve_topic

from eventstore.mapping import EventMapper
from ilertd.config import load_config
from ilertd.domain.alert_action import AlertAction
from ilertd.domain.connector import Connector
from ilertd.domain.registry import build_registry
from ilertd.sealing import (
    PREFIX,
    SEALED_FIELDS,
    Sealer,
    SealingError,
    fingerprint,
    is_sealed,
    load_sealer,
    new_key,
    parse_keys,
    rotate,
)

OLD, NEW = new_key(), new_key()
TOKEN = "xoxb-very-secret-token"


def test_a_sealed_value_opens_to_the_same_json_and_hides_it() -> None:
    sealer = Sealer([OLD], "test")
    value = {"url": f"https://hooks.test/{TOKEN}", "headers": [{"key": "A", "value": "b"}]}
    sealed = sealer.seal(value)
    assert sealed.startswith(PREFIX) and is_sealed(sealed)
    assert TOKEN not in sealed
    assert sealer.seal(value) != sealed, "a new IV each time: equal values do not show"
    assert sealer.unseal(sealed, "here") == value


@pytest.mark.parametrize("plain", [{"url": "https://x.test"}, "abc123", None, [], {}])
def test_plaintext_from_before_sealing_passes_through(plain: object) -> None:
    assert Sealer([OLD], "test").unseal(plain, "here") == plain


def test_rotation_the_first_key_seals_every_key_opens() -> None:
    before = Sealer([OLD], "test").seal("s1")
    rotated = Sealer([NEW, OLD], "test")
    assert rotated.unseal(before, "here") == "s1"
    after = rotated.seal("s2")
    assert rotated.key_index(after) == 0 and rotated.key_index(before) == 1
    assert Sealer([NEW], "test").unseal(after, "here") == "s2"
    with pytest.raises(SealingError) as caught:
        Sealer([OLD], "ILERTD_SECRETS_KEYS").unseal(after, "event #7 (connector-created) params")
    message = str(caught.value)
    assert "event #7 (connector-created) params" in message
    assert "ILERTD_SECRETS_KEYS" in message and fingerprint(OLD) in message
    assert OLD not in message, "a key is never shown"


def test_keys_that_are_not_fernet_keys_are_refused_naming_the_setting() -> None:
    assert parse_keys(f" {NEW} ,{OLD}", "X") == [NEW, OLD]
    assert parse_keys(f"# comment\n{NEW}\n\n{OLD}\n", "X") == [NEW, OLD]
    with pytest.raises(SealingError, match="ILERTD_SECRETS_KEYS: key 2 is not a Fernet key"):
        parse_keys(f"{NEW},hunter2", "ILERTD_SECRETS_KEYS")
    with pytest.raises(SealingError, match="no key"):
        parse_keys(" , ", "ILERTD_SECRETS_KEYS")


def test_the_key_file_is_made_once_private_and_read_back(tmp_path: Path) -> None:
    config = load_config(None, env={"ILERTD_DATA_DIR": str(tmp_path / "data")})
    first = load_sealer(config)
    path = tmp_path / "data" / "secrets.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == f"{first.keys[0]}\n"
    assert load_sealer(config).keys == first.keys, "the second start uses the same key"
    assert not list(path.parent.glob(".secrets.key.*")), "no temporary file is left"


def test_keys_from_the_environment_win_and_no_file_is_made(tmp_path: Path) -> None:
    config = load_config(
        None, env={"ILERTD_DATA_DIR": str(tmp_path), "ILERTD_SECRETS_KEYS": f"{NEW},{OLD}"}
    )
    sealer = load_sealer(config)
    assert sealer.keys == (NEW, OLD) and sealer.source == "ILERTD_SECRETS_KEYS (secrets.keys)"
    assert not (tmp_path / "secrets.key").exists()
    assert config.masked()["secrets.keys"] == "********", "check-config never shows them"


def test_a_missing_key_file_is_an_error_when_not_to_be_made(tmp_path: Path) -> None:
    config = load_config(None, env={"ILERTD_SECRETS_KEY_FILE": str(tmp_path / "k")})
    with pytest.raises(SealingError, match=f"the key file {tmp_path / 'k'} does not exist"):
        load_sealer(config, create=False)


def test_rotate_puts_a_new_key_in_front_of_the_file(tmp_path: Path) -> None:
    config = load_config(None, env={"ILERTD_SECRETS_KEY_FILE": str(tmp_path / "k")})
    old = load_sealer(config)
    sealed = old.seal("s")
    message = rotate(config)
    rotated = load_sealer(config)
    assert len(rotated.keys) == 2 and rotated.keys[1:] == old.keys
    assert fingerprint(rotated.keys[0]) in message and rotated.keys[0] not in message
    assert rotated.unseal(sealed, "here") == "s"
    assert rotated.key_index(rotated.seal("t")) == 0
    assert stat.S_IMODE((tmp_path / "k").stat().st_mode) == 0o600


def test_rotate_with_keys_from_the_environment_says_what_to_set(tmp_path: Path) -> None:
    config = load_config(None, env={"ILERTD_DATA_DIR": str(tmp_path), "ILERTD_SECRETS_KEYS": OLD})
    message = rotate(config)
    line = next(x for x in message.splitlines() if "ILERTD_SECRETS_KEYS=" in x)
    keys = parse_keys(line.split("=", 1)[1], "printed")
    assert len(keys) == 2 and keys[1] == OLD and keys[0] != OLD
    assert not list(tmp_path.iterdir()), "nothing is written"


def test_the_mapper_seals_the_designated_fields_and_leaves_the_aggregate_plain() -> None:
    mapper = EventMapper(build_registry(), Sealer([OLD], "test"))
    connector = Connector.create(
        name="jira", connector_type="jira", params={"url": "https://j.test", "apiToken": TOKEN}
    )
    action = AlertAction.create(
        name="hook",
        connector_type="webhook",
        params={
            "webhookUrl": f"https://h.test/{TOKEN}",
            "headers": [{"key": "Authorization", "value": f"Bearer {TOKEN}"}],
        },
    )
    signing_secret = action.signing_secret
    events = [*connector.collect_events(), *action.collect_events()]
    rows = mapper.to_new_events(events, {})
    assert [r.type for r in rows] == ["connector-created", "alert-action-created"]
    for row in rows:
        assert TOKEN.encode() not in row.data and signing_secret.encode() not in row.data
        data = orjson.loads(row.data)
        assert is_sealed(data["params"]) and data["name"] in ("jira", "hook")
    assert is_sealed(orjson.loads(rows[1].data)["signing_secret"])
    assert connector.params["apiToken"] == TOKEN, "the aggregate keeps its plaintext"
    assert events[0].params["apiToken"] == TOKEN, "and so does its event object"


def test_without_a_sealer_the_mapper_writes_plaintext() -> None:
    connector = Connector.create(name="c", connector_type="jira", params={"apiToken": TOKEN})
    (row,) = EventMapper(build_registry()).to_new_events(connector.collect_events(), {})
    assert orjson.loads(row.data)["params"] == {"apiToken": TOKEN}


def test_a_key_file_others_can_read_is_used_but_warned_about(tmp_path: Path) -> None:
    path = tmp_path / "k"
    path.write_text(f"{OLD}\n")
    path.chmod(0o644)
    config = load_config(None, env={"ILERTD_SECRETS_KEY_FILE": str(path)})
    with structlog.testing.capture_logs() as logs:
        assert load_sealer(config).keys == (OLD,)
    assert [e["event"] for e in logs] == ["the key file is readable by others: chmod 600 it"]
    path.chmod(0o600)
    with structlog.testing.capture_logs() as logs:
        load_sealer(config)
    assert logs == []


def test_a_running_instance_reads_a_rotated_key_file_when_a_value_does_not_open(
    tmp_path: Path,
) -> None:
    """Instance A rotates (or gets the rotated file copied) and seals with the new key; B,
    started before, opens A's value without a restart and from then on seals with it too."""
    config = load_config(None, env={"ILERTD_SECRETS_KEY_FILE": str(tmp_path / "k")})
    running = load_sealer(config)
    rotate(config)
    restarted = load_sealer(config)
    sealed = restarted.seal("from A")
    assert running.unseal(sealed, "here") == "from A"
    assert running.keys == restarted.keys and restarted.key_index(running.seal("b")) == 0
    with pytest.raises(SealingError):  # unchanged file, still a value no key opens
        running.unseal(Sealer([NEW], "other").seal("x"), "here")


def test_every_connector_and_action_event_with_secrets_is_sealed() -> None:
    """A new event type of these aggregates that carries params or the signing secret must
    be declared in SEALED_FIELDS, or its secrets would land in plaintext."""
    registry = build_registry()
    for stream_type in ("connector", "alert-action"):
        for type_name in registry.types_of(stream_type):
            fields = getattr(resolve_topic(registry.topic_of(type_name)), "__annotations__", {})
            carried = {"params", "signing_secret"} & set(fields)
            assert carried <= set(SEALED_FIELDS.get(type_name, ())), type_name
