"""Every aggregate's events under their stored type names (``user-registered``, ...)."""

from __future__ import annotations

from eventstore.mapping import EventRegistry

from .user import User


def build_registry() -> EventRegistry:
    registry = EventRegistry()
    registry.register(User)
    return registry
