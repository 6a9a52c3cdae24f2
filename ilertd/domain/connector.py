"""Connectors: credentials and URLs that several alert actions share (a Jira site, a Teams
webhook...).

Credentials are write-only: the API never returns them and a PUT that leaves one out keeps
the stored value (a client that GETs, edits and PUTs back must not wipe a token it never
saw); an empty string removes it. They live in the events like every other setting, where
the event mapper seals ``params`` with keys kept outside the database (ilertd.sealing): the
aggregate only ever sees them in plaintext.
"""

from __future__ import annotations

import re
from typing import Any

from eventsourcing.domain import Aggregate, event

from .errors import InvalidValueError
from .lifecycle import Deletable
from .team_ids import checked_teams
from .text import checked_name, checked_url

#: Parameter names that are credentials: accepted, stored, used, never shown. Matched as
#: parts of the name, case-insensitively (``clientSecret``, ``Password``, ``accessToken``):
#: showing a credential is worse than hiding a harmless value.
SECRET_PARTS = ("password", "passwd", "secret", "token", "key", "authorization", "credential")


def is_secret(name: str) -> bool:
    lowered = name.lower()
    return any(part in lowered for part in SECRET_PARTS)


MAX_PARAMS = 32
MAX_PARAM_VALUE = 4096
#: ilert adds connector types every release: any lower-case word is accepted.
CONNECTOR_TYPE = re.compile(r"[a-z][a-z0-9_]{0,63}")
PARAM_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")


def _connector_type(value: Any) -> str:
    if not isinstance(value, str) or not CONNECTOR_TYPE.fullmatch(value.strip().lower()):
        raise InvalidValueError(
            "type", "is required: a word such as webhook, slack, microsoft_teams or jira"
        )
    return value.strip().lower()


def checked_params(value: Any) -> dict[str, str]:
    """Flat string parameters; ``url`` must be an http(s) URL."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidValueError("params", "must be an object of strings")
    if len(value) > MAX_PARAMS:
        raise InvalidValueError("params", f"at most {MAX_PARAMS} parameters")
    params: dict[str, str] = {}
    for name, item in value.items():
        field = f"params.{name}"
        if not PARAM_NAME.fullmatch(name):
            raise InvalidValueError("params", f"{name!r} is not a parameter name")
        if item is None:
            continue
        if not isinstance(item, str) or len(item) > MAX_PARAM_VALUE or "\x00" in item:
            raise InvalidValueError(field, f"must be a string of at most {MAX_PARAM_VALUE}")
        params[name] = checked_url(field, item) if name == "url" and item else item
    return params


def public_params(params: dict[str, str]) -> dict[str, str]:
    """What the API may show: everything but the credentials."""
    return {k: v for k, v in params.items() if not is_secret(k)}


class Connector(Deletable, Aggregate):
    label = "connector"

    @classmethod
    def create(cls, *, name: Any, connector_type: Any, params: Any, teams: Any = ()) -> Connector:
        checked = checked_params(params)
        return cls(
            name=checked_name(name),
            connector_type=_connector_type(connector_type),
            params={k: v for k, v in checked.items() if v != ""},
            teams=checked_teams(teams),
        )

    @event("Created")
    def __init__(
        self,
        name: str,
        connector_type: str,
        params: dict[str, str],
        teams: list[int] = (),  # type: ignore[assignment]  # none in events before teams
    ) -> None:
        self.name = name
        self.connector_type = connector_type
        self.params = params
        self.teams = list(teams)
        self.deleted = False

    def update(self, *, name: Any, connector_type: Any, params: Any, teams: Any = ()) -> None:
        """Replace the settings; credentials left out are kept, ``""`` removes one."""
        self._require_live()
        given = checked_params(params)
        kept = {k: v for k, v in self.params.items() if is_secret(k) and k not in given}
        merged = {k: v for k, v in {**kept, **given}.items() if v != ""}
        checked = {
            "name": checked_name(name),
            "connector_type": _connector_type(connector_type),
            "params": merged,
            "teams": checked_teams(teams),
        }
        current = {
            "name": self.name,
            "connector_type": self.connector_type,
            "params": self.params,
            "teams": self.teams,
        }
        if checked != current:
            self._updated(**checked)

    @event("Updated")
    def _updated(
        self,
        name: str,
        connector_type: str,
        params: dict[str, str],
        teams: list[int] = (),  # type: ignore[assignment]  # none in events before teams
    ) -> None:
        self.name = name
        self.connector_type = connector_type
        self.params = params
        self.teams = list(teams)

    @event("Deleted")
    def _deleted(self) -> None:
        self.deleted = True
