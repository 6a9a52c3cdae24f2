"""The teams a piece of configuration belongs to: a sorted list of team API ids.

Whether a team exists (and whether the caller may see it) is a fact of the read model: the
HTTP layer checks it before appending. Stored sorted and without duplicates, so a PUT that
only reorders them records nothing.
"""

from __future__ import annotations

from typing import Any

from .errors import InvalidValueError

MAX_TEAMS = 100
MAX_ID = 2**63 - 1


def checked_teams(value: Any) -> list[int]:
    """Positive int64 ids, sorted, duplicates dropped; errors name ``teams[i].id``."""
    if isinstance(value, tuple):
        value = list(value)
    if not isinstance(value, list):
        raise InvalidValueError("teams", "must be a list of teams")
    if len(value) > MAX_TEAMS:
        raise InvalidValueError("teams", f"must hold at most {MAX_TEAMS} teams")
    for index, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, int) or not 1 <= item <= MAX_ID:
            raise InvalidValueError(f"teams[{index}].id", "must be a positive integer id")
    return sorted(set(value))
