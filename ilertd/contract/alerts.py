"""Alert request bodies declared as types (the rest of the alert contract is still in
``ilertd/http/openapi.py``)."""

from __future__ import annotations

import msgspec

from .common import IdRef


class AlertAssignment(msgspec.Struct, kw_only=True):
    """``PUT /api/alerts/{id}/assign`` as a body: exactly one target (the query parameters
    ``user``, ``policy``, ``schedule`` say the same)."""

    user: IdRef | None = None
    escalationPolicy: IdRef | None = None
    schedule: IdRef | None = None
