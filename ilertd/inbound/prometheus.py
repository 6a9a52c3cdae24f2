"""Prometheus Alertmanager's webhook body as one Events API event (pure: no I/O).

One ilert alert per Alertmanager group: the ``groupKey`` is the alertKey, so a group's
re-notifications (repeat_interval, a new alert joining it) join the open alert and
``status: resolved`` resolves it. What maps to what:

- summary: ``commonAnnotations.summary``, else the first firing alert's
  ``annotations.summary``, else ``alertname`` (common, group, then first alert's labels);
- details: markdown listing every alert of the group (status, labels, summary or
  description, since when, its generator link), and how many Alertmanager truncated;
- labels: the group's ``commonLabels``; customDetails: the whole group (receiver, group
  labels, common labels and annotations, each alert with its labels and annotations);
- priority from the ``severity`` label (common, else the highest of the firing alerts):
  critical, error, high -> HIGH; warning, info, low -> LOW; any other or none: the
  source's own priority rule;
- routingKey: the ``ilert_routingkey`` label (common, else the first alert's);
- links: each alert's ``generatorURL`` and the ``externalURL`` (http(s) only).

Alertmanager cannot shorten what it sends, so nothing within the body's type is refused:
texts over the alert's limits are cut, links that are not http(s) are left out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import orjson

from ..contract.events import (
    MAX_ALERT_KEY,
    MAX_CUSTOM_DETAILS_BYTES,
    MAX_DETAILS,
    MAX_LABEL_KEY,
    MAX_LABEL_VALUE,
    MAX_LABELS,
    MAX_LINKS,
    MAX_ROUTING_KEY,
    MAX_SHORT_TEXT,
    MAX_SUMMARY,
    MAX_URL,
    EventType,
)
from ..contract.prometheus import AlertmanagerAlert, AlertmanagerWebhook
from .ilert_events import InboundEvent

#: The label that picks an escalation policy by its routingKey, as ilert documents it.
ROUTING_LABEL = "ilert_routingkey"
HIGH = frozenset({"critical", "error", "high"})
LOW = frozenset({"warning", "info", "low"})
ELLIPSIS = "…"


def event_from_alertmanager(body: AlertmanagerWebhook, integration_key: str) -> InboundEvent:
    """The ALERT (firing) or RESOLVE (resolved) event of one Alertmanager notification."""
    alert_key = group_alert_key(body.groupKey)
    if body.status == "resolved":
        return InboundEvent(
            integration_key=integration_key,
            event_type=EventType.RESOLVE,
            summary="",
            details="",
            alert_key=alert_key,
            priority=None,
            severity=None,
            images=(),
            links=(),
            comments=(),
            labels={},
            custom_details=None,
            routing_key=None,
        )
    firing = [alert for alert in body.alerts if alert.status == "firing"] or body.alerts
    common = body.commonLabels or {}
    return InboundEvent(
        integration_key=integration_key,
        event_type=EventType.ALERT,
        summary=summary_of(body, firing),
        details=details_of(body),
        alert_key=alert_key,
        priority=priority_of(common, firing),
        severity=None,
        images=(),
        links=_links(body),
        comments=(),
        labels=_labels(common),
        custom_details=_custom_details(body),
        routing_key=_routing_key(common, firing),
    )


def group_alert_key(group_key: str) -> str:
    """The group's alertKey: its ``groupKey``, or the key's SHA-256 when it is too long."""
    key = group_key.strip()
    if len(key) <= MAX_ALERT_KEY:
        return key
    return "alertmanager:" + hashlib.sha256(key.encode()).hexdigest()


def summary_of(body: AlertmanagerWebhook, firing: list[AlertmanagerAlert]) -> str:
    candidates = [
        (body.commonAnnotations or {}).get("summary"),
        *((alert.annotations or {}).get("summary") for alert in firing[:1]),
        (body.commonLabels or {}).get("alertname"),
        (body.groupLabels or {}).get("alertname"),
        *((alert.labels or {}).get("alertname") for alert in firing[:1]),
    ]
    for candidate in candidates:
        if candidate and candidate.strip():
            return cut(candidate.strip(), MAX_SUMMARY)
    return cut(f"Alertmanager group {body.groupKey.strip()}", MAX_SUMMARY)


def priority_of(common: Mapping[str, str], firing: Iterable[AlertmanagerAlert]) -> str | None:
    """HIGH or LOW from the ``severity`` label; None leaves it to the source."""
    found = _priority(common.get("severity"))
    if found is not None:
        return found
    each = {_priority((alert.labels or {}).get("severity")) for alert in firing}
    return "HIGH" if "HIGH" in each else "LOW" if "LOW" in each else None


def _priority(severity: str | None) -> str | None:
    text = (severity or "").strip().lower()
    return "HIGH" if text in HIGH else "LOW" if text in LOW else None


def details_of(body: AlertmanagerWebhook) -> str:
    """Markdown: one item per alert of the group, the newest Alertmanager sent."""
    firing = sum(alert.status == "firing" for alert in body.alerts)
    lines = [f"**[{body.status.upper()}:{firing}]** {len(body.alerts)} alert(s) in the group"]
    if body.receiver:
        lines[0] += f" (receiver `{body.receiver}`)"
    lines.append("")
    for alert in body.alerts:
        lines.append(_alert_line(alert))
    if body.truncatedAlerts:
        lines.append(f"\n{body.truncatedAlerts} more alert(s) truncated by Alertmanager")
    if body.externalURL:
        lines.append(f"\nAlertmanager: {body.externalURL}")
    return cut("\n".join(lines), MAX_DETAILS)


def _alert_line(alert: AlertmanagerAlert) -> str:
    labels = alert.labels or {}
    annotations = alert.annotations or {}
    name = labels.get("alertname", "alert")
    shown = " ".join(f"{k}={v}" for k, v in sorted(labels.items()) if k != "alertname")
    line = f"- **{alert.status}** {name}"
    if shown:
        line += f" `{shown}`"
    text = annotations.get("summary") or annotations.get("description")
    if text:
        line += f": {text}"
    if alert.startsAt:
        line += f" (since {alert.startsAt})"
    if alert.generatorURL:
        line += f" [source]({alert.generatorURL})"
    return line


def _labels(common: Mapping[str, str]) -> dict[str, str]:
    """The group's common labels within the alert's limits (sorted, so the cut is stable)."""
    kept: dict[str, str] = {}
    for key in sorted(common):
        if len(kept) == MAX_LABELS:
            break
        if key and len(key) <= MAX_LABEL_KEY:
            kept[key] = cut(common[key], MAX_LABEL_VALUE)
    return kept


def _routing_key(common: Mapping[str, str], firing: list[AlertmanagerAlert]) -> str | None:
    for labels in (common, *((alert.labels or {}) for alert in firing[:1])):
        value = (labels.get(ROUTING_LABEL) or "").strip()
        if value:
            return value[:MAX_ROUTING_KEY]
    return None


def _links(body: AlertmanagerWebhook) -> tuple[dict, ...]:
    links: list[dict] = []
    seen: set[str] = set()
    for alert in body.alerts:
        url = alert.generatorURL or ""
        if len(links) < MAX_LINKS - 1 and url not in seen and is_web_url(url):
            seen.add(url)
            name = (alert.labels or {}).get("alertname") or "alert"
            links.append({"href": url, "text": cut(f"{name} source", MAX_SHORT_TEXT)})
    if body.externalURL and is_web_url(body.externalURL):
        links.append({"href": body.externalURL, "text": "Alertmanager"})
    return tuple(links)


def is_web_url(text: str) -> bool:
    """An absolute http(s) URL with a host, no spaces, within the alert's URL limit (the
    Events API refuses other links; a tool's are left out instead)."""
    if not text or len(text) > MAX_URL or not text.isprintable() or " " in text:
        return False
    try:
        parts = urlsplit(text)
        return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:
        return False


def _custom_details(body: AlertmanagerWebhook) -> dict[str, Any]:
    """The whole group; the last alerts are left out (and counted) past the size limit."""
    alerts = [
        {
            "status": alert.status,
            "labels": alert.labels or {},
            "annotations": alert.annotations or {},
            "startsAt": alert.startsAt,
            "endsAt": alert.endsAt,
            "fingerprint": alert.fingerprint,
            "generatorURL": alert.generatorURL,
        }
        for alert in body.alerts
    ]
    details: dict[str, Any] = {
        "receiver": body.receiver,
        "status": body.status,
        "groupKey": body.groupKey,
        "groupLabels": body.groupLabels or {},
        "commonLabels": body.commonLabels or {},
        "commonAnnotations": body.commonAnnotations or {},
        "externalURL": body.externalURL,
        "truncatedAlerts": body.truncatedAlerts or 0,
        "alerts": alerts,
    }
    while len(orjson.dumps(details)) > MAX_CUSTOM_DETAILS_BYTES:
        if not alerts:
            # the group's own fields alone are over: keep only what identifies it
            return {"status": body.status, "groupKey": cut(body.groupKey, 8_192)}
        alerts[:] = alerts[: len(alerts) // 2]
        details["alertsOmitted"] = len(body.alerts) - len(alerts)
    return details


def cut(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters, an ellipsis marking a cut."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS
