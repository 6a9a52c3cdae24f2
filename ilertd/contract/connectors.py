"""A connector on the wire: shared credentials and URLs of alert action targets."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from ..domain.connector import MAX_PARAM_VALUE
from .common import ReadOnlyTime

PARAMS_TEXT = (
    "url, email, username; credentials (password, apiKey, apiToken, authorization, secret, "
    'token) are write-only: never returned, kept when a PUT leaves them out, removed by ""'
)


class Connector(msgspec.Struct, kw_only=True):
    id: Annotated[int, msgspec.Meta(description="read-only")] | None = None
    name: Annotated[str, msgspec.Meta(max_length=255)] | None = None
    type: (
        Annotated[str, msgspec.Meta(description="slack, microsoft_teams, jira, webhook, ...")]
        | None
    ) = None
    # values are checked by the domain, which names the parameter (msgspec's path for a
    # dict value would be "params[...]")
    params: (
        Annotated[
            dict[str, Any],
            msgspec.Meta(
                description=PARAMS_TEXT,
                extra_json_schema={
                    "additionalProperties": {
                        "type": ["string", "null"],
                        "maxLength": MAX_PARAM_VALUE,
                    }
                },
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
