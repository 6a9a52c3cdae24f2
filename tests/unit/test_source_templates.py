"""Alert-source templates (pure): the subset checked at save, the sandbox and bounds at
render, the filters, and the generic JSON and Grafana mappings."""

from __future__ import annotations

import msgspec
import pytest

from ilertd.contract.webhooks import GrafanaWebhook
from ilertd.domain.alert_source import AlertSource
from ilertd.domain.errors import InvalidValueError
from ilertd.domain.source_templates import (
    MAX_OUTPUT,
    RenderError,
    check_condition,
    check_template,
    checked_templates,
    holds,
    render,
)
from ilertd.inbound.generic_json import Ignored, event_from_webhook
from ilertd.inbound.grafana import alert_key, event_from_grafana, priority

CTX = {"status": "firing", "labels": {"env": "prod", "n": "3"}, "items": [1, 2], "n": 3}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ labels.env }}", "prod"),
        ("{{ missing.deeper.still }}", ""),
        ("{{ status | upper }}-{{ items | join(',') }}", "FIRING-1,2"),
        ("{% if n > 2 %}many{% else %}few{% endif %}", "many"),
        ("{{ labels['env'] ~ '/' ~ n }}", "prod/3"),
        ("{{ missing | default('none') }}", "none"),
        ("<b>{{ '<i>' }}</b>", "<b><i></b>"),  # text: no HTML escaping
    ],
)
def test_render(template: str, expected: str) -> None:
    assert render("summaryTemplate", template, CTX) == expected


@pytest.mark.parametrize(
    ("template", "why"),
    [
        ("{{ ''.__class__ }}", "attribute __class__"),
        ("{{ x['__class__'] }}", "key __class__"),
        ("{{ x.upper() }}", "calls"),
        ("{{ lipsum() }}", "calls"),
        ("{{ 'a' * 9 }}", "*"),
        ("{{ 9 ** 9 ** 9 }}", "**"),
        ("{{ '%s' % x }}", "%"),
        ("{% for i in x %}{% endfor %}", "loops"),
        ("{% set y = x ~ x %}", "set"),
        ("{% macro m() %}{% endmacro %}", "macros"),
        ("{% include 'x' %}", "include"),
        ("{% extends 'x' %}", "extends"),
        ("{{ x | center(99) }}", "filter center"),
        ("{{ x | attr('y') }}", "filter attr"),
        ("{{ x is callable }}", "test callable"),
        ("{{ x ", "does not compile"),
    ],
)
def test_outside_the_subset_is_refused_naming_the_field(template: str, why: str) -> None:
    with pytest.raises(InvalidValueError) as caught:
        check_template("detailsTemplate", template)
    assert caught.value.field == "detailsTemplate" and why in str(caught.value)


def test_sandbox_still_guards_what_a_check_cannot_see() -> None:
    # a key computed from the data: the sandbox answers undefined, rendered empty
    ctx = {"s": "text", "k": "__class__", "m": "upper"}
    assert render("f", "{{ s[k] }}|{{ s[k][k] }}|{{ s[m] }}", ctx) == "||"


def test_render_is_bounded() -> None:
    with pytest.raises(RenderError) as caught:
        render("f", "{{ x | replace('a', y) }}", {"x": "a" * 1000, "y": "b" * 1000})
    assert caught.value.field == "f"
    with pytest.raises(RenderError):
        render("f", "{{ x }}{{ x }}", {"x": "a" * MAX_OUTPUT})
    assert len(render("f", "{{ x }}", {"x": "a" * MAX_OUTPUT})) == MAX_OUTPUT


def test_render_errors_name_the_field() -> None:
    with pytest.raises(RenderError) as caught:
        render("summaryTemplate", "{{ n + 'x' }}", CTX)
    assert caught.value.field == "summaryTemplate" and "TypeError" in caught.value.reason
    with pytest.raises(RenderError) as caught:
        holds("eventFilter", "n > 'a'", CTX)
    assert caught.value.field == "eventFilter"


def test_conditions() -> None:
    assert holds("f", "status == 'firing' and labels.env in ['prod', 'stage']", CTX)
    assert not holds("f", "missing.x == 'y'", CTX)
    assert not holds("f", "missing", CTX)
    assert holds("f", "missing is undefined or missing is none", CTX)
    for bad in ("", "a b", "{{ x }}", "x.__class__", "x()"):
        with pytest.raises(InvalidValueError):
            check_condition("eventFilter", bad)


def test_checked_templates_keeps_ilert_shapes_and_drops_absent() -> None:
    checked = checked_templates(
        {
            "summaryTemplate": {"textTemplate": "{{ a }}"},
            "detailsTemplate": "{{ b }}",  # a bare string is taken as the text
            "alertKeyTemplate": None,
            "priorityTemplate": {
                "valueTemplate": {"textTemplate": "{{ p }}"},
                "mappings": [{"value": "x", "priority": " low "}],
            },
            "linkTemplates": [{"text": "t", "hrefTemplate": {"textTemplate": "{{ u }}"}}],
            "eventFilter": " a == 1 ",
        }
    )
    assert checked == {
        "summaryTemplate": {"textTemplate": "{{ a }}"},
        "detailsTemplate": {"textTemplate": "{{ b }}"},
        "priorityTemplate": {
            "valueTemplate": {"textTemplate": "{{ p }}"},
            "mappings": [{"value": "x", "priority": "LOW"}],
        },
        "linkTemplates": [{"text": "t", "hrefTemplate": {"textTemplate": "{{ u }}"}}],
        "eventFilter": "a == 1",
    }
    with pytest.raises(InvalidValueError) as caught:
        checked_templates({"linkTemplates": [{"text": "t"}]})
    assert caught.value.field == "linkTemplates[0].hrefTemplate"


def test_source_records_templates_and_update_changes_them() -> None:
    source = AlertSource.create(name="x", templates={"eventFilter": "true"})
    assert source.templates == {"eventFilter": "true"}
    source.collect_events()
    source.update(name="x", templates={"eventFilter": "true"})
    assert source.collect_events() == []  # nothing changed, nothing recorded
    source.update(name="x")
    assert source.templates == {}
    with pytest.raises(InvalidValueError):
        source.update(name="x", templates={"summaryTemplate": {"textTemplate": "{{"}})


TEMPLATES = checked_templates(
    {
        "alertKeyTemplate": {"textTemplate": "{{ id }}"},
        "summaryTemplate": {"textTemplate": "{{ name }}"},
        "eventTypeFilterCreate": "state == 'down'",
        "eventTypeFilterResolve": "state == 'up'",
    }
)


def test_generic_event_types_from_the_filters() -> None:
    down = event_from_webhook({"id": "k", "name": "n", "state": "down"}, TEMPLATES, "key", tool="t")
    assert not isinstance(down, Ignored)
    assert (down.event_type.value, down.alert_key, down.summary) == ("ALERT", "k", "n")
    assert down.integration_key == "key" and down.custom_details == {
        "id": "k",
        "name": "n",
        "state": "down",
    }
    up = event_from_webhook({"id": "k", "state": "up"}, TEMPLATES, "key", tool="t")
    assert not isinstance(up, Ignored) and up.event_type.value == "RESOLVE"
    assert event_from_webhook({"state": "?"}, TEMPLATES, "key", tool="t") == Ignored(
        "eventTypeFilterCreate"
    )


def test_generic_without_templates() -> None:
    event = event_from_webhook({"title": " Disk full ", "x": 1}, {}, "key", tool="custom")
    assert not isinstance(event, Ignored)
    assert event.summary == "Disk full" and event.alert_key is None
    assert '"x": 1' in event.details
    plain = event_from_webhook({"x": 1}, {}, "key", tool="custom")
    assert not isinstance(plain, Ignored) and plain.summary == "Event from custom"


def test_generic_errors_blame_the_template() -> None:
    templates = checked_templates({"summaryTemplate": {"textTemplate": "{{ s }}"}})
    with pytest.raises(InvalidValueError) as caught:
        event_from_webhook({"s": "x" * 5000}, templates, "key", tool="t")
    assert caught.value.field == "summaryTemplate"


GRAFANA = {
    "status": "firing",
    "groupKey": '{}:{alertname="A"}',
    "title": "[FIRING:1] A",
    "commonLabels": {"alertname": "A", "severity": "warning"},
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "A"},
            "annotations": {"summary": "it broke"},
            "generatorURL": "https://g.test/a",
            "silenceURL": "javascript:x",
            "valueString": "B=1",
        }
    ],
}


def test_grafana_mapping() -> None:
    event = event_from_grafana(msgspec.convert(GRAFANA, GrafanaWebhook), "key")
    assert event.event_type.value == "ALERT" and event.alert_key == GRAFANA["groupKey"]
    assert event.summary == "[FIRING:1] A" and event.priority == "LOW"
    assert event.details == "- [FIRING] A: it broke (B=1)"  # no message: one line per alert
    assert [link["href"] for link in event.links] == ["https://g.test/a"]
    resolved = event_from_grafana(
        msgspec.convert({**GRAFANA, "status": "resolved"}, GrafanaWebhook), "key"
    )
    assert resolved.event_type.value == "RESOLVE" and resolved.alert_key == GRAFANA["groupKey"]


def test_grafana_keys_priorities_and_errors() -> None:
    assert alert_key("g" * 600).startswith("grafana:") and len(alert_key("g" * 600)) == 72
    assert priority({"severity": "Critical"}) == "HIGH" and priority({}) is None
    with pytest.raises(InvalidValueError) as caught:
        event_from_grafana(GrafanaWebhook(status="firing", groupKey=" "), "key")
    assert caught.value.field == "groupKey"
    with pytest.raises(msgspec.ValidationError):  # the document requires both
        msgspec.convert({"status": "firing"}, GrafanaWebhook)
