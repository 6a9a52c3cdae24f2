"""Generic JSON webhooks: any tool's body, turned into an Events API event by the source's
templates (ilert's ``alertKeyTemplate``, ``summaryTemplate``... ``eventTypeFilterResolve``).

Pure: the templates are rendered by ``ilertd.domain.source_templates`` on the context
``{**body, "body": body}`` (``{{ status }}`` and ``{{ body.status }}`` alike), and the
result is validated as an Events API body would be, so the limits are the same. An error
names the template field that caused it (``summaryTemplate: ...``), never the field of an
Events API body the sender never wrote.

Which event: ``eventFilter`` false ignores the body; else ``eventTypeFilterResolve`` true
resolves, else ``eventTypeFilterAccept`` true accepts, else ``eventTypeFilterCreate`` (when
set) must be true to open or join an alert, or the body is ignored; with no filter at all
every body is an ALERT. Without templates: the body's own ``summary``, ``title`` or
``message`` is the summary (else "Event from <tool>"), the body as JSON the details.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from ilertd.domain.errors import InvalidValueError
from ilertd.domain.source_templates import holds, render

from .ilert_events import (
    MAX_CUSTOM_DETAILS_BYTES,
    MAX_DETAILS,
    MAX_SUMMARY,
    InboundEvent,
    parse_event,
)

#: Events API fields a template fills, and the template to blame for a bad one
_BLAME = {
    "summary": "summaryTemplate",
    "details": "detailsTemplate",
    "alertKey": "alertKeyTemplate",
    "routingKey": "routingTemplate",
    "priority": "priorityTemplate",
}
_DEFAULT_SUMMARY_FIELDS = ("summary", "title", "message")


@dataclass(frozen=True)
class Ignored:
    """The source's filters decided to drop this body: which filter, for the answer."""

    filter: str


def context(body: Any) -> dict[str, Any]:
    """What templates see: the body's top-level fields, and the whole body as ``body``."""
    fields = dict(body) if isinstance(body, Mapping) else {}
    fields["body"] = body
    return fields


def event_type(templates: Mapping[str, Any], ctx: Mapping[str, Any]) -> str | Ignored:
    """ALERT, ACCEPT or RESOLVE as the filters decide, or the filter that ignores it."""
    if "eventFilter" in templates and not holds("eventFilter", templates["eventFilter"], ctx):
        return Ignored("eventFilter")
    for field, verb in (("eventTypeFilterResolve", "RESOLVE"), ("eventTypeFilterAccept", "ACCEPT")):
        if field in templates and holds(field, templates[field], ctx):
            return verb
    create = templates.get("eventTypeFilterCreate")
    if create is not None and not holds("eventTypeFilterCreate", create, ctx):
        return Ignored("eventTypeFilterCreate")
    return "ALERT"


def _text(templates: Mapping[str, Any], field: str, ctx: Mapping[str, Any]) -> str | None:
    template = templates.get(field)
    if template is None:
        return None
    return render(field, template["textTemplate"], ctx).strip()


def _priority(templates: Mapping[str, Any], ctx: Mapping[str, Any]) -> str | None:
    """The priority of the first mapping whose value equals the rendered valueTemplate
    (trimmed, case ignored); None (the source's rule) when none does."""
    spec = templates.get("priorityTemplate")
    if spec is None:
        return None
    field = "priorityTemplate.valueTemplate"
    value = render(field, spec["valueTemplate"]["textTemplate"], ctx).strip().casefold()
    for mapping in spec.get("mappings", ()):
        if mapping["value"].strip().casefold() == value:
            return str(mapping["priority"])
    return None


def _links(
    templates: Mapping[str, Any], ctx: Mapping[str, Any]
) -> tuple[list[dict[str, Any]], list[int]]:
    """The rendered links (blank ones left out) and, for each, its template's index."""
    links, origin = [], []
    for i, spec in enumerate(templates.get("linkTemplates", ())):
        field = f"linkTemplates[{i}].hrefTemplate"
        href = render(field, spec["hrefTemplate"]["textTemplate"], ctx).strip()
        if href:
            links.append({"href": href, "text": spec.get("text")})
            origin.append(i)
    return links, origin


def _default_summary(body: Any, tool: str) -> str:
    if isinstance(body, Mapping):
        for name in _DEFAULT_SUMMARY_FIELDS:
            value = body.get(name)
            if isinstance(value, str) and value.strip():
                return value.strip()[:MAX_SUMMARY]
    return f"Event from {tool}"


def _json(body: Any) -> bytes | None:
    """The body as indented JSON; None for what orjson cannot write (integers beyond 64
    bits): such a body gets no JSON details and is not kept, but still maps."""
    try:
        return orjson.dumps(body, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)
    except orjson.JSONEncodeError:
        return None


def event_from_webhook(
    body: Any, templates: Mapping[str, Any], integration_key: str, *, tool: str
) -> InboundEvent | Ignored:
    """The event ``body`` stands for under ``templates``, or Ignored; InvalidValueError
    (or ``source_templates.RenderError``) names the template field at fault."""
    ctx = context(body)
    verb = event_type(templates, ctx)
    if isinstance(verb, Ignored):
        return verb
    alert_key = _text(templates, "alertKeyTemplate", ctx)
    if verb != "ALERT" and not alert_key:
        raise InvalidValueError("alertKeyTemplate", f"must render a key to {verb.lower()} by")
    summary = _text(templates, "summaryTemplate", ctx)
    details = _text(templates, "detailsTemplate", ctx)
    raw = _json(body)
    if details is None:
        details = "" if raw is None else raw.decode()[:MAX_DETAILS]
    links, origin = _links(templates, ctx)
    request: dict[str, Any] = {
        "eventType": verb,
        "alertKey": alert_key or None,
        "summary": _default_summary(body, tool) if summary is None else summary,
        "details": details,
        "priority": _priority(templates, ctx),
        "routingKey": _text(templates, "routingTemplate", ctx) or None,
        "links": links,
        # the body is kept on the alert when it fits the Events API's limit
        "customDetails": body
        if isinstance(body, Mapping) and raw is not None and len(raw) <= MAX_CUSTOM_DETAILS_BYTES
        else None,
    }
    try:
        return parse_event(request, integration_key_from_path=integration_key)
    except InvalidValueError as exc:
        raise InvalidValueError(*_blamed(exc, origin)) from None


def _blamed(exc: InvalidValueError, origin: list[int]) -> tuple[str, str]:
    """(template field, message) for an Events API field the templates produced."""
    field = exc.field or "body"
    message = str(exc).removeprefix(f"{field}: ")
    head = field.split(".", 1)[0].split("[", 1)[0]
    if head == "links" and "[" in field:
        index = int(field[len("links[") : field.index("]")])
        return f"linkTemplates[{origin[index]}].hrefTemplate", f"renders a bad link: {message}"
    if head in _BLAME:
        return _BLAME[head], f"renders a bad {head}: {message}"
    return "body", message


#: What a tool's own mapping (Alertmanager, Grafana) lets the source's templates replace
_OVERLAID = ("alertKeyTemplate", "summaryTemplate", "detailsTemplate", "routingTemplate")


def overlaid(event: InboundEvent, body: Any, templates: Mapping[str, Any]) -> InboundEvent:
    """A tool's event with the source's templates applied over its mapping: each template
    set and rendering non-blank replaces that field (the key on every event type, so a
    resolve finds what the firing opened; summary, details, routing, priority and links
    on an ALERT). The tool decides the event type; the filters are for generic webhooks.
    InvalidValueError or RenderError names the template field at fault."""
    if not any(name in templates for name in (*_OVERLAID, "priorityTemplate", "linkTemplates")):
        return event
    ctx = context(body)
    request: dict[str, Any] = {
        "eventType": event.event_type.value,
        "alertKey": _text(templates, "alertKeyTemplate", ctx) or event.alert_key,
        "summary": event.summary,
        "details": event.details,
        "priority": event.priority,
        "severity": event.severity,
        "routingKey": event.routing_key,
        "links": list(event.links),
        "images": list(event.images),
        "labels": event.labels,
        "customDetails": event.custom_details,
    }
    links: list[dict[str, Any]] = []
    origin: list[int] = []
    if request["eventType"] == "ALERT":
        request["summary"] = _text(templates, "summaryTemplate", ctx) or event.summary
        request["details"] = _text(templates, "detailsTemplate", ctx) or event.details
        request["routingKey"] = _text(templates, "routingTemplate", ctx) or event.routing_key
        request["priority"] = _priority(templates, ctx) or event.priority
        links, origin = _links(templates, ctx)
        request["links"] = [*links, *event.links]
    try:
        return parse_event(request, integration_key_from_path=event.integration_key)
    except InvalidValueError as exc:
        raise InvalidValueError(*_blamed(exc, origin)) from None
