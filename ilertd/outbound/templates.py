"""`{{ name }}` templates for alert-action bodies, subjects and summaries.

Deliberately tiny (no logic, no filters): users write these in the API, so they must not
run code, and one pass means an alert's text can never inject further placeholders.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import orjson

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_.]+)\s*\}\}")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029\x0b\x0c\x85]+")
ELLIPSIS = "…"


def render(
    template: str,
    variables: Mapping[str, Any],
    *,
    escape: Callable[[str], str] | None = None,
) -> str:
    """Replace each placeholder with its variable's text; unknown names become ""."""

    def substitute(match: re.Match[str]) -> str:
        text = value_text(lookup(variables, match.group(1)))
        return escape(text) if escape else text

    return _PLACEHOLDER.sub(substitute, template)


def template_names(template: str) -> set[str]:
    """The variable names a template uses, e.g. to warn about unknown ones when saving."""
    return {match.group(1) for match in _PLACEHOLDER.finditer(template)}


def lookup(variables: Mapping[str, Any], name: str) -> Any:
    """A flat key first; otherwise a dotted path into nested mappings (`labels.env`)."""
    if name in variables:
        return variables[name]
    value: Any = variables
    for part in name.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def value_text(value: Any) -> str:
    """Text for one value: strings as is, None empty, everything else as compact JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    try:
        return orjson.dumps(value, default=str).decode()
    except orjson.JSONEncodeError:  # e.g. integers beyond 64 bits
        return json.dumps(value, default=str, separators=(",", ":"), ensure_ascii=False)


def json_string_escape(text: str) -> str:
    """The inside of a JSON string literal, so values fit between a template's quotes."""
    try:
        return orjson.dumps(text).decode()[1:-1]
    except orjson.JSONEncodeError:  # lone surrogates: orjson refuses, json escapes them
        return json.dumps(text)[1:-1]


def looks_like_json(template: str) -> bool:
    """Whether a body template is meant to be JSON, which decides escaping and type.

    A leading `{{` is a placeholder, not an object: JSON keys are strings.
    """
    start = template.lstrip()
    return start.startswith("[") or (start.startswith("{") and not start.startswith("{{"))


def single_line(text: str) -> str:
    """Line breaks folded into spaces, for subjects, titles and headers."""
    return _LINE_BREAKS.sub(" ", text).strip()


def truncate(text: str, limit: int) -> str:
    """At most `limit` characters, marking a cut with an ellipsis."""
    if len(text) <= limit:
        return text
    return text[: limit - len(ELLIPSIS)] + ELLIPSIS
