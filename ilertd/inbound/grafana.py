"""Grafana unified alerting's webhook contact point, as an Events API event. Pure.

Grafana posts one body per notification group (``groupKey``), ``status`` ``firing``
while any of its alerts fires and ``resolved`` when all are resolved. So: one ilert alert
per ``groupKey`` (the alert key; a key longer than the Events API allows is replaced by
its SHA-256), ``firing`` opens it or joins it, ``resolved`` resolves it.

What maps to what: summary = ``title`` (else ``commonLabels.alertname``); details =
``message`` (else a line per alert from its ``summary``/``description`` annotations and
``valueString``); labels = ``commonLabels``; links = each firing alert's
``generatorURL``, ``dashboardURL``, ``panelURL``, ``silenceURL``; priority from
``commonLabels.severity``: critical, high, error, page give HIGH, warning, warn, low,
info give LOW, anything else the source's rule; customDetails = the alerts (labels,
annotations, status, times, fingerprint, valueString) when they fit the limit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import orjson

from ilertd.contract.webhooks import GrafanaAlert, GrafanaWebhook
from ilertd.domain.alert import MAX_ALERT_KEY
from ilertd.domain.errors import InvalidValueError

from .ilert_events import (
    MAX_CUSTOM_DETAILS_BYTES,
    MAX_DETAILS,
    MAX_LABEL_KEY,
    MAX_LABEL_VALUE,
    MAX_LABELS,
    MAX_LINKS,
    MAX_SUMMARY,
    MAX_URL,
    InboundEvent,
    parse_event,
)

_HIGH = frozenset({"critical", "high", "error", "page", "p1", "sev1"})
_LOW = frozenset({"warning", "warn", "low", "info", "p3", "p4", "p5"})
_LINKS = (
    ("generatorURL", "Source"),
    ("dashboardURL", "Dashboard"),
    ("panelURL", "Panel"),
    ("silenceURL", "Silence"),
)


def alert_key(group_key: str) -> str:
    """The ilert alert key of a Grafana group: the group key, or its hash when too long."""
    if len(group_key) <= MAX_ALERT_KEY:
        return group_key
    return "grafana:" + hashlib.sha256(group_key.encode()).hexdigest()


def priority(labels: Mapping[str, str]) -> str | None:
    severity = (labels.get("severity") or "").strip().casefold()
    if severity in _HIGH:
        return "HIGH"
    if severity in _LOW:
        return "LOW"
    return None


def _summary(body: GrafanaWebhook) -> str:
    labels = body.commonLabels or {}
    for text in (body.title, labels.get("alertname")):
        if text and text.strip():
            return text.strip()[:MAX_SUMMARY]
    return "Grafana alert"


def _alert_line(alert: GrafanaAlert) -> str:
    notes = alert.annotations or {}
    name = (alert.labels or {}).get("alertname", "alert")
    text = notes.get("summary") or notes.get("description") or ""
    value = f" ({alert.valueString})" if alert.valueString else ""
    return f"- [{(alert.status or '').upper()}] {name}: {text}{value}".rstrip(": ")


def _details(body: GrafanaWebhook) -> str:
    if body.message and body.message.strip():
        return body.message[:MAX_DETAILS]
    return "\n".join(_alert_line(a) for a in body.alerts or ())[:MAX_DETAILS]


def _labels(labels: Mapping[str, str] | None) -> dict[str, str]:
    """The common labels that fit the Events API's limits (the rest stay in the details)."""
    kept: dict[str, str] = {}
    for key, value in (labels or {}).items():
        if len(kept) == MAX_LABELS:
            break
        if key and len(key) <= MAX_LABEL_KEY and len(value) <= MAX_LABEL_VALUE:
            kept[key] = value
    return kept


def _links(alerts: list[GrafanaAlert]) -> list[dict[str, str]]:
    """The firing alerts' links (http and https only), each URL once."""
    links: list[dict[str, str]] = []
    seen: set[str] = set()
    for alert in alerts:
        if (alert.status or "firing") != "firing":
            continue
        for attr, text in _LINKS:
            url = getattr(alert, attr)
            if not url or url in seen or len(url) > MAX_URL:
                continue
            if _usable(url) and len(links) < MAX_LINKS:
                seen.add(url)
                links.append({"href": url, "text": text})
    return links


def _usable(url: str) -> bool:
    """An absolute http(s) URL the Events API takes; Grafana leaves some blank or odd."""
    if not url.isprintable() or any(ch.isspace() for ch in url):
        return False
    try:
        parts = urlsplit(url)
        return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:
        return False


def _custom_details(body: GrafanaWebhook) -> dict[str, Any] | None:
    alerts = [
        {
            "status": a.status,
            "labels": a.labels or {},
            "annotations": a.annotations or {},
            "startsAt": a.startsAt,
            "endsAt": a.endsAt,
            "fingerprint": a.fingerprint,
            "valueString": a.valueString,
        }
        for a in body.alerts or ()
    ]
    details = {"alerts": alerts, "orgId": body.orgId, "externalURL": body.externalURL}
    try:
        size = len(orjson.dumps(details))
    except orjson.JSONEncodeError:  # an orgId beyond 64 bits, say: not worth refusing
        return None
    return details if size <= MAX_CUSTOM_DETAILS_BYTES else None


def event_from_grafana(body: GrafanaWebhook, integration_key: str) -> InboundEvent:
    """The Events API event of one Grafana notification, or InvalidValueError."""
    status = (body.status or "").strip().casefold()
    if status not in ("firing", "resolved"):
        raise InvalidValueError("status", "must be firing or resolved")
    if not body.groupKey or not body.groupKey.strip():
        raise InvalidValueError("groupKey", "is required: one alert is kept per group")
    key = alert_key(body.groupKey.strip())
    if status == "resolved":
        request: dict[str, Any] = {"eventType": "RESOLVE", "alertKey": key}
    else:
        request = {
            "eventType": "ALERT",
            "alertKey": key,
            "summary": _summary(body),
            "details": _details(body),
            "priority": priority(body.commonLabels or {}),
            "labels": _labels(body.commonLabels),
            "links": _links(body.alerts or []),
            "customDetails": _custom_details(body),
        }
    return parse_event(request, integration_key_from_path=integration_key)
