"""A connector on the wire: shared credentials and URLs of alert action targets."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from ..domain.connector import MAX_PARAM_VALUE, MAX_PARAMS, PARAM_NAME
from .common import Name, ReadOnlyTime, TextId, spaces
from .team_refs import Teams
from .visibility import Masking, secret

PARAMS_TEXT = (
    "url, email, username; credentials (password, apiKey, apiToken, authorization, secret, "
    'token) are write-only: never returned, kept when a PUT leaves them out, removed by ""'
)


class Connector(msgspec.Struct, kw_only=True):
    """PUT replaces the connector but its credentials and ``teams``, which absent (or
    null) fields keep (``[]`` clears the teams)."""

    id: Annotated[TextId, msgspec.Meta(description="read-only")] | None = None
    name: Name
    type: Annotated[
        str,
        msgspec.Meta(
            description="slack, microsoft_teams, jira, webhook, ...: any word (case ignored)",
            extra_json_schema={"pattern": spaces(r"^\s*[A-Za-z][A-Za-z0-9_]{0,63}\s*$")},
        ),
    ]
    # values are checked by the domain, which names the parameter (msgspec's path for a
    # dict value would be "params[...]")
    params: (
        Annotated[
            dict[str, Any],
            msgspec.Meta(
                description=PARAMS_TEXT,
                extra_json_schema={
                    "maxProperties": MAX_PARAMS,
                    "propertyNames": {"pattern": PARAM_NAME.pattern.join("^$")},
                    "additionalProperties": {
                        "type": ["string", "null"],
                        "maxLength": MAX_PARAM_VALUE,
                    },
                },
            ),
            secret(
                Masking.CONNECTOR_PARAMS,
                "a URL holds credentials (http://user:pass@host/?access_token=), a chat "
                "connector's URL is one",
            ),
        ]
        | None
    ) = None
    secretParams: (
        Annotated[list[str], msgspec.Meta(description="read-only: the credentials that are set")]
        | None
    ) = None
    createdAt: ReadOnlyTime | None = None
    updatedAt: ReadOnlyTime | None = None
    teams: Teams | None = None
