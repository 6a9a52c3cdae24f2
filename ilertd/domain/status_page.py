"""Status pages: what customers see of a set of services, served by ilertd itself.

A page names its services (ids checked against the services read model by the HTTP layer),
groups of them (``{id, name}``, numbered per page from 1: they exist only within their
page) and a ``structure`` that orders services and groups. The structure may name only the
page's own services and groups; removing a group removes it (and the services nested in
it) from the structure in the same event, so a client deleting groups before the page (the
Terraform provider's order) never meets a page that refers to a missing group.

The ``subdomain`` is ilert's (``example.ilert.io``, or a bare ``example``): its first label
is the page's slug, served at ``/status/<slug>`` and unique among live pages (the HTTP layer
answers 409). Nothing here knows whether a service or another page exists.
"""

from __future__ import annotations

import re
import zoneinfo
from enum import StrEnum
from functools import cache
from typing import Any

from eventsourcing.domain import Aggregate, event

from .errors import DomainError, InvalidValueError
from .lifecycle import Deletable
from .team_ids import MAX_ID, checked_teams
from .text import checked_name, checked_url

#: One DNS label: lower-case letters, digits and dashes, no dash at either end.
LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
SUBDOMAIN = re.compile(rf"{LABEL}(?:\.{LABEL})*")
#: A custom domain (two labels at least), case ignored: stored lower-case.
ANY_CASE_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
DOMAIN = re.compile(rf"{ANY_CASE_LABEL}(?:\.{ANY_CASE_LABEL})+")
MAX_HOST = 253
MAX_TEXT = 2000
MAX_SERVICES = 100
MAX_GROUPS = 100
MAX_ELEMENTS = 200
ELEMENT_OPTIONS = ("expand", "no-graph")


class Visibility(StrEnum):
    PUBLIC = "PUBLIC"
    PRIVATE = "PRIVATE"


class Layout(StrEnum):
    SINGLE_COLUMN = "SINGLE_COLUMN"
    RESPONSIVE = "RESPONSIVE"


class Appearance(StrEnum):
    LIGHT = "LIGHT"
    DARK = "DARK"


class ElementType(StrEnum):
    SERVICE = "SERVICE"
    GROUP = "GROUP"


@cache
def zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) | {"UTC"}


def slug_of(subdomain: str) -> str:
    """The path segment a page is served at: the subdomain's first label."""
    return subdomain.split(".", 1)[0]


def _subdomain(value: Any) -> str:
    if not isinstance(value, str) or not SUBDOMAIN.fullmatch(value) or len(value) > MAX_HOST:
        raise InvalidValueError(
            "subdomain",
            "is required: lower-case letters, digits and dashes (a slug such as 'acme', or "
            "a host name such as 'acme.ilert.io', whose first label is the slug)",
        )
    return value


def _domain(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not DOMAIN.fullmatch(value) or len(value) > MAX_HOST:
        raise InvalidValueError("domain", "must be a host name such as status.example.com")
    return value.lower()


def _text(field: str, value: Any, maximum: int = MAX_TEXT) -> str | None:
    """Optional free text: trimmed; blank is none."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidValueError(field, "must be a string")
    text = value.strip()
    if len(text) > maximum:
        raise InvalidValueError(field, f"must be at most {maximum} characters")
    if "\x00" in text:
        raise InvalidValueError(field, "must not contain a NUL character")
    return text or None


def _url(field: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    return checked_url(field, value)


def _choice(field: str, value: Any, kind: type[StrEnum], default: StrEnum) -> str:
    if value is None or value == "":
        return default.value
    if isinstance(value, str) and value in kind.__members__:
        return value
    raise InvalidValueError(field, f"must be one of {', '.join(kind.__members__)}")


def _flag(field: str, value: Any) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InvalidValueError(field, "must be a boolean")
    return value


def _id(field: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise InvalidValueError(field, "must be a positive integer id")
    return value


def _services(value: Any) -> list[int]:
    """Service ids in the order given, duplicates dropped."""
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise InvalidValueError("services", "must be a list of services")
    if len(value) > MAX_SERVICES:
        raise InvalidValueError("services", f"must hold at most {MAX_SERVICES} services")
    ids = [_id(f"services[{i}].id", item) for i, item in enumerate(value)]
    return list(dict.fromkeys(ids))


def _options(field: str, value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list | tuple) or any(v not in ELEMENT_OPTIONS for v in value):
        raise InvalidValueError(field, f"must be a list of {', '.join(ELEMENT_OPTIONS)}")
    return list(dict.fromkeys(value))


def checked_structure(
    value: Any, services: list[int], groups: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The structure's elements: each a service of the page or a group of it, a group's
    children services of the page; every service at most once. ``value`` is a list of
    ``{id, type, options, children}`` dicts."""
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise InvalidValueError("structure.elements", "must be a list")
    if len(value) > MAX_ELEMENTS:
        raise InvalidValueError("structure.elements", f"must hold at most {MAX_ELEMENTS}")
    group_ids = {group["id"] for group in groups}
    seen: set[tuple[str, int]] = set()

    def element(field: str, item: Any, nested: bool) -> dict[str, Any]:
        if not isinstance(item, dict):
            raise InvalidValueError(field, "must be an object")
        ident = _id(f"{field}.id", item.get("id"))
        kind = item.get("type")
        children = item.get("children") or []
        if kind == ElementType.SERVICE:
            if ident not in services:
                raise InvalidValueError(f"{field}.id", f"service {ident} is not on the page")
            if children:
                raise InvalidValueError(f"{field}.children", "a SERVICE element has none")
        elif kind == ElementType.GROUP and not nested:
            if ident not in group_ids:
                raise InvalidValueError(f"{field}.id", f"group {ident} is not on the page")
        else:
            allowed = "SERVICE" if nested else "SERVICE or GROUP"
            raise InvalidValueError(f"{field}.type", f"must be {allowed}")
        if (kind, ident) in seen:
            raise InvalidValueError(f"{field}.id", f"{kind} {ident} is in the structure twice")
        seen.add((kind, ident))
        result: dict[str, Any] = {
            "id": ident,
            "type": kind,
            "options": _options(f"{field}.options", item.get("options")),
        }
        if kind == ElementType.GROUP:
            if not isinstance(children, list | tuple) or len(children) > MAX_SERVICES:
                raise InvalidValueError(f"{field}.children", "must be a list of services")
            result["children"] = [
                element(f"{field}.children[{i}]", child, True) for i, child in enumerate(children)
            ]
        return result

    return [element(f"structure.elements[{i}]", item, False) for i, item in enumerate(value)]


def checked_settings(
    *,
    name: Any,
    subdomain: Any,
    domain: Any = None,
    timezone: Any = None,
    visibility: Any = None,
    hidden_from_search: Any = False,
    show_subscribe_action: Any = False,
    show_incident_history_option: Any = False,
    page_title: Any = None,
    page_description: Any = None,
    page_layout: Any = None,
    logo_url: Any = None,
    favicon_url: Any = None,
    appearance: Any = None,
    announcement: Any = None,
    services: Any = (),
    structure: Any = None,
    teams: Any = (),
    groups: list[dict[str, Any]] = (),  # type: ignore[assignment]
) -> dict[str, Any]:
    """The page's settings as recorded, or InvalidValueError naming the field. ``groups``:
    the page's groups, which the structure may name."""
    zone = _text("timezone", timezone, 64)
    if zone is not None and zone not in zone_names():
        raise InvalidValueError("timezone", f"unknown IANA zone {zone!r}")
    checked_services = _services(services)
    return {
        "name": checked_name(name),
        "subdomain": _subdomain(subdomain),
        "domain": _domain(domain),
        "timezone": zone,
        "visibility": _choice("visibility", visibility, Visibility, Visibility.PUBLIC),
        "hidden_from_search": _flag("hiddenFromSearch", hidden_from_search),
        "show_subscribe_action": _flag("showSubscribeAction", show_subscribe_action),
        "show_incident_history_option": _flag(
            "showIncidentHistoryOption", show_incident_history_option
        ),
        "page_title": _text("pageTitle", page_title, 255),
        "page_description": _text("pageDescription", page_description),
        "page_layout": _choice("pageLayout", page_layout, Layout, Layout.SINGLE_COLUMN),
        "logo_url": _url("logoUrl", logo_url),
        "favicon_url": _url("faviconUrl", favicon_url),
        "appearance": _choice("appearance", appearance, Appearance, Appearance.LIGHT),
        "announcement": _text("announcement", announcement),
        "services": checked_services,
        "structure": checked_structure(structure, checked_services, list(groups)),
        "teams": checked_teams(teams),
    }


class GroupNotFoundError(DomainError):
    """The page has no such group (a 404)."""


def _without_group(structure: list[dict[str, Any]], group_id: int) -> list[dict[str, Any]]:
    return [e for e in structure if not (e["type"] == ElementType.GROUP and e["id"] == group_id)]


class StatusPage(Deletable, Aggregate):
    label = "status page"

    @classmethod
    def create(cls, **settings: Any) -> StatusPage:
        """A new page; settings as ``checked_settings`` (it has no groups yet)."""
        return cls(settings=checked_settings(**settings))

    @event("Created")
    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = settings
        self.groups: list[dict[str, Any]] = []
        self.next_group = 1
        self.deleted = False

    def update(self, **settings: Any) -> None:
        """Replace the settings (PUT); the groups stay. Records nothing when nothing changes."""
        self._require_live()
        checked = checked_settings(groups=self.groups, **settings)
        if checked != self.settings:
            self._updated(settings=checked)

    @event("Updated")
    def _updated(self, settings: dict[str, Any]) -> None:
        self.settings = settings

    @event("Deleted")
    def _deleted(self) -> None:
        self.deleted = True

    # -- groups ------------------------------------------------------------------------

    def group(self, group_id: int) -> dict[str, Any]:
        for group in self.groups:
            if group["id"] == group_id:
                return group
        raise GroupNotFoundError(f"status page has no group {group_id}")

    def add_group(self, name: Any) -> int:
        """A new group's id."""
        self._require_live()
        if len(self.groups) >= MAX_GROUPS:
            raise DomainError(f"a status page holds at most {MAX_GROUPS} groups")
        group_id = self.next_group
        self._group_added(group_id=group_id, name=checked_name(name))
        return group_id

    @event("GroupAdded")
    def _group_added(self, group_id: int, name: str) -> None:
        self.groups = [*self.groups, {"id": group_id, "name": name}]
        self.next_group = group_id + 1

    def rename_group(self, group_id: int, name: Any) -> None:
        self._require_live()
        checked = checked_name(name)
        if self.group(group_id)["name"] != checked:
            self._group_renamed(group_id=group_id, name=checked)

    @event("GroupRenamed")
    def _group_renamed(self, group_id: int, name: str) -> None:
        self.groups = [
            {"id": g["id"], "name": name if g["id"] == group_id else g["name"]} for g in self.groups
        ]

    def remove_group(self, group_id: int) -> None:
        """Remove the group, and it with its children from the structure."""
        self._require_live()
        self.group(group_id)
        self._group_removed(
            group_id=group_id, structure=_without_group(self.settings["structure"], group_id)
        )

    @event("GroupRemoved")
    def _group_removed(self, group_id: int, structure: list[dict[str, Any]]) -> None:
        self.groups = [g for g in self.groups if g["id"] != group_id]
        self.settings = {**self.settings, "structure": structure}
