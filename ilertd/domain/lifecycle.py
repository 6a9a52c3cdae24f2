"""What every piece of configuration shares: a DELETE ends it, and nothing changes it
afterwards (its stream stays, so its history and ids do too)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar
from uuid import UUID

from .errors import DomainError


class Deletable:
    """Mixed into an aggregate that records its own ``Deleted`` event in ``_deleted``."""

    #: What the aggregate is called in messages: "alert source", "schedule"...
    label: ClassVar[str]
    id: UUID
    deleted: bool
    _deleted: Callable[[], None]

    def _require_live(self) -> None:
        if self.deleted:
            raise DomainError(f"{self.label} {self.id} is deleted")

    def delete(self) -> None:
        self._require_live()
        self._deleted()


class Replaceable(Deletable):
    """Configuration a PUT replaces as a whole: ``check_settings`` (the aggregate's own
    rules) gives the new settings, compared with ``settings`` and recorded by ``_updated``
    only when they differ."""

    check_settings: ClassVar[Callable[..., dict[str, Any]]]
    settings: dict[str, Any]
    _updated: Callable[..., None]

    def update(self, **settings: Any) -> None:
        """Replace every setting (PUT); records nothing when nothing changes."""
        self._require_live()
        checked = type(self).check_settings(**settings)
        if checked != self.settings:
            self._updated(**checked)
