"""Alert-source templates (ilert's ``summaryTemplate``, ``eventFilter``...): checked when a
source is saved, rendered against an inbound webhook body.

Users write these in the API and anyone with a source's key can post the data they run
on, so they run in Jinja2's ``SandboxedEnvironment`` and, before that, in a small subset
of Jinja2 checked on the parsed template: output (``{{ path.to.field }}``), ``if``, the
operators ``and or not in == != < > ~ + -`` and a list of harmless filters. Refused
when saved (a 400 naming the field): loops, ``set``, macros, calls, ``*``, ``**``, ``%``,
``//``, ``/``, attributes or keys starting with ``_`` (``{{ ''.__class__ }}``),
include/import/extends. Without loops, calls or multiplication a render is bounded by
the size of the template and the body: no time limit is needed; the output is capped
anyway. A missing field renders empty (ilert does so), and compares as undefined.

Pure: no I/O (jinja2 reads no files here: templates come as strings).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import ChainableUndefined, Template, TemplateSyntaxError, nodes
from jinja2.parser import Parser
from jinja2.sandbox import SandboxedEnvironment

from .errors import InvalidValueError

#: a template's own text, and what one render may produce
MAX_TEMPLATE = 4_096
MAX_OUTPUT = 100_000
MAX_LINK_TEMPLATES = 50
MAX_MAPPINGS = 100
PRIORITIES = ("HIGH", "LOW")

#: the text templates, by ilert's field names (each ``{"textTemplate": "..."}``)
TEXT_FIELDS = ("alertKeyTemplate", "summaryTemplate", "detailsTemplate", "routingTemplate")
#: the conditions: one Jinja2 expression each, truthy or not
FILTER_FIELDS = (
    "eventFilter",
    "eventTypeFilterCreate",
    "eventTypeFilterAccept",
    "eventTypeFilterResolve",
)
FIELDS = (*TEXT_FIELDS, "priorityTemplate", "linkTemplates", *FILTER_FIELDS)

_FILTERS = frozenset(
    {
        "default",
        "d",
        "lower",
        "upper",
        "title",
        "capitalize",
        "trim",
        "string",
        "int",
        "float",
        "abs",
        "round",
        "length",
        "count",
        "first",
        "last",
        "join",
        "replace",
        "truncate",
        "tojson",
        "list",
        "unique",
        "min",
        "max",
        "sort",
        "reverse",
    }
)
_TESTS = frozenset({"defined", "undefined", "none", "string", "number", "mapping", "in"})
_REFUSED: dict[type[nodes.Node], str] = {
    nodes.For: "loops",
    nodes.Macro: "macros",
    nodes.CallBlock: "call blocks",
    nodes.Call: "calls",
    nodes.Mul: "*",
    nodes.Pow: "**",
    nodes.Mod: "%",
    nodes.Div: "/",
    nodes.FloorDiv: "//",
    nodes.Include: "include",
    nodes.Import: "import",
    nodes.FromImport: "import",
    nodes.Extends: "extends",
    nodes.Block: "blocks",
    nodes.FilterBlock: "filter blocks",
    nodes.With: "with",
    nodes.Assign: "set",
    nodes.AssignBlock: "set",
    nodes.Scope: "scopes",
    nodes.ScopedEvalContextModifier: "autoescape",
}


class _Environment(SandboxedEnvironment):
    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        """Data only: no attribute starting with ``_`` and no method of any object."""
        return not attr.startswith("_") and not callable(value)


ENV = _Environment(autoescape=False, undefined=ChainableUndefined, keep_trailing_newline=True)


def _bounded(name: str) -> None:
    """Filter ``name``, refusing a result over MAX_OUTPUT: ``replace`` and ``join`` are the
    filters whose output can outgrow their input many times over."""
    inner = ENV.filters[name]

    def guarded(*args: Any, **kwargs: Any) -> Any:
        result = inner(*args, **kwargs)
        if len(result) > MAX_OUTPUT:
            raise ValueError(f"{name} would produce more than {MAX_OUTPUT} characters")
        return result

    for flag in ("jinja_pass_arg",):
        if hasattr(inner, flag):
            setattr(guarded, flag, getattr(inner, flag))
    ENV.filters[name] = guarded


for _name in ("replace", "join"):
    _bounded(_name)


def _refusal(node: nodes.Node) -> str | None:
    """Why ``node`` (or a node inside it) is outside the subset; None if it is inside."""
    for child in (node, *node.find_all(nodes.Node)):
        kind = _REFUSED.get(type(child))
        if kind is not None:
            return f"{kind} are not allowed in templates"
        if isinstance(child, nodes.Getattr) and child.attr.startswith("_"):
            return f"attribute {child.attr} is not allowed"
        if (
            isinstance(child, nodes.Getitem)
            and isinstance(child.arg, nodes.Const)
            and str(child.arg.value).startswith("_")
        ):
            return f"key {child.arg.value} is not allowed"
        if isinstance(child, nodes.Filter) and child.name not in _FILTERS:
            return f"filter {child.name} is not allowed; use one of {', '.join(sorted(_FILTERS))}"
        if isinstance(child, nodes.Test) and child.name not in _TESTS:
            return f"test {child.name} is not allowed"
    return None


def _text(field: str, value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidValueError(field, "must be a string")
    if len(value) > MAX_TEMPLATE:
        raise InvalidValueError(field, f"must be at most {MAX_TEMPLATE} characters")
    if "\x00" in value:
        raise InvalidValueError(field, "must not contain NUL")
    return value


def check_template(field: str, source: Any) -> str:
    """``source`` if it is a template of the subset, else InvalidValueError on ``field``."""
    text = _text(field, source)
    try:
        tree = ENV.parse(text)
        why = _refusal(tree)
    except TemplateSyntaxError as exc:
        raise InvalidValueError(
            field, f"does not compile: {exc.message} (line {exc.lineno})"
        ) from None
    except RecursionError:
        raise InvalidValueError(field, "is nested too deeply") from None
    if why is not None:
        raise InvalidValueError(field, why)
    return text


def _expression_tree(text: str) -> nodes.Expr:
    parser = Parser(ENV, text, state="variable")
    expression = parser.parse_expression()
    if not parser.stream.eos:
        token = parser.stream.current
        raise TemplateSyntaxError(f"unexpected {token.value!r}", token.lineno)
    return expression


def check_condition(field: str, source: Any) -> str:
    """``source`` if it is one expression of the subset, else InvalidValueError."""
    text = _text(field, source).strip()
    if not text:
        raise InvalidValueError(field, "must be an expression such as status == 'firing'")
    try:
        why = _refusal(_expression_tree(text))
    except TemplateSyntaxError as exc:
        raise InvalidValueError(field, f"does not compile: {exc.message}") from None
    except RecursionError:
        raise InvalidValueError(field, "is nested too deeply") from None
    if why is not None:
        raise InvalidValueError(field, why)
    return text


def _text_template(field: str, value: Any) -> dict[str, str] | None:
    """``{"textTemplate": "..."}`` (ilert's shape); a bare string is accepted too."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        value = value.get("textTemplate")
        field = f"{field}.textTemplate"
        if value is None:
            return None
    return {"textTemplate": compiles(field, value)}


def _priority_template(value: Any) -> dict[str, Any] | None:
    field = "priorityTemplate"
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidValueError(field, "must be {valueTemplate: {textTemplate}, mappings: [...]}")
    template = _text_template(f"{field}.valueTemplate", value.get("valueTemplate"))
    if template is None:
        raise InvalidValueError(f"{field}.valueTemplate", "is required")
    mappings = value.get("mappings") or []
    if not isinstance(mappings, list) or len(mappings) > MAX_MAPPINGS:
        raise InvalidValueError(f"{field}.mappings", f"must be a list of at most {MAX_MAPPINGS}")
    checked = []
    for i, mapping in enumerate(mappings):
        where = f"{field}.mappings[{i}]"
        if not isinstance(mapping, Mapping) or not isinstance(mapping.get("value"), str):
            raise InvalidValueError(f"{where}.value", "must be a string")
        priority = mapping.get("priority")
        if not isinstance(priority, str) or priority.strip().upper() not in PRIORITIES:
            raise InvalidValueError(f"{where}.priority", "must be HIGH or LOW")
        checked.append({"value": mapping["value"], "priority": priority.strip().upper()})
    return {"valueTemplate": template, "mappings": checked}


def _link_templates(value: Any) -> list[dict[str, Any]] | None:
    field = "linkTemplates"
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > MAX_LINK_TEMPLATES:
        raise InvalidValueError(field, f"must be a list of at most {MAX_LINK_TEMPLATES}")
    checked = []
    for i, link in enumerate(value):
        where = f"{field}[{i}]"
        if not isinstance(link, Mapping):
            raise InvalidValueError(where, "must be {text, hrefTemplate: {textTemplate}}")
        text = link.get("text")
        if text is not None and (not isinstance(text, str) or len(text) > MAX_TEMPLATE):
            raise InvalidValueError(f"{where}.text", "must be a short string")
        href = _text_template(f"{where}.hrefTemplate", link.get("hrefTemplate"))
        if href is None:
            raise InvalidValueError(f"{where}.hrefTemplate", "is required")
        checked.append({"text": text, "hrefTemplate": href})
    return checked


def checked_templates(values: Mapping[str, Any] | None) -> dict[str, Any]:
    """The template fields of a source, by ilert's names, checked; absent ones left out."""
    values = values or {}
    checked: dict[str, Any] = {}
    for field in TEXT_FIELDS:
        checked[field] = _text_template(field, values.get(field))
    checked["priorityTemplate"] = _priority_template(values.get("priorityTemplate"))
    checked["linkTemplates"] = _link_templates(values.get("linkTemplates"))
    for field in FILTER_FIELDS:
        value = values.get(field)
        checked[field] = None if value is None else compiles(field, value, condition=True)
    return {field: value for field, value in checked.items() if value is not None}


@lru_cache(maxsize=2048)
def _compiled(field: str, source: str) -> Template:
    """The checked, compiled template (sources repeat on every event of their source)."""
    text = check_template(field, source)
    try:
        return ENV.from_string(text)
    except RecursionError:
        raise InvalidValueError(field, "is nested too deeply") from None


@lru_cache(maxsize=2048)
def _compiled_condition(field: str, source: str) -> Callable[..., Any]:
    text = check_condition(field, source)
    try:
        return ENV.compile_expression(text)
    except RecursionError:
        raise InvalidValueError(field, "is nested too deeply") from None


def compiles(field: str, source: str, *, condition: bool = False) -> str:
    """``source`` if it is in the subset and compiles, else InvalidValueError."""
    source = _text(field, source)  # a string (hashable) before the caches see it
    (_compiled_condition if condition else _compiled)(field, source)
    return source.strip() if condition else source


@dataclass(frozen=True)
class RenderError(Exception):
    """A template failed on this body: the field to name in the 400, and why."""

    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


def render(field: str, source: str, context: Mapping[str, Any]) -> str:
    """``source`` rendered on ``context``, at most MAX_OUTPUT characters, or RenderError."""
    parts: list[str] = []
    size = 0
    try:
        for part in _compiled(field, source).generate(context):
            size += len(part)
            if size > MAX_OUTPUT:
                raise RenderError(field, f"renders more than {MAX_OUTPUT} characters")
            parts.append(part)
    except (RenderError, InvalidValueError):
        raise
    except Exception as exc:  # any failure of user code is the sender's 400
        raise RenderError(field, f"could not render: {type(exc).__name__}: {exc}") from None
    return "".join(parts)


def holds(field: str, source: str, context: Mapping[str, Any]) -> bool:
    """Whether the condition ``source`` is truthy on ``context``, or RenderError."""
    try:
        value = _compiled_condition(field, source)(**context)
        return bool(value) and not isinstance(value, ChainableUndefined)
    except InvalidValueError:
        raise
    except Exception as exc:  # any failure of user code is the sender's 400
        raise RenderError(field, f"could not evaluate: {type(exc).__name__}: {exc}") from None
