"""Every answer the suite sees is checked against the served OpenAPI document.

The test client (``tests/integration/conftest.py``) hands each response here: the
operation is found by method and path template, the schema by status code (a status the
operation does not list is itself a finding), and the JSON body validated with a JSON
Schema 2020-12 validator, OpenAPI 3.1's own dialect. A finding fails the test that made
the call, naming the operation, the status and where the body departs from the document.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from ilertd.http.document import document

METHODS = ("get", "put", "post", "delete", "patch")
DOC_URI = "urn:ilertd:openapi"


@cache
def _operations() -> list[tuple[str, re.Pattern[str], str, dict[str, Any]]]:
    found = []
    for path, item in document()["paths"].items():
        pattern = re.compile("^" + re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(path)) + "$")
        for method in METHODS:
            if method in item:
                found.append((method.upper(), pattern, path, item[method]))
    # literal segments win over templates, the earlier segment first, as the router
    # orders them: /api/alerts/count before /api/alerts/{id}, and
    # /api/schedules/name/{name} before /api/schedules/{id}/ical
    found.sort(key=lambda entry: tuple("{" in part for part in entry[2].split("/")))
    return found


@cache
def _registry() -> Registry:
    resource = Resource.from_contents(document(), default_specification=DRAFT202012)
    return Registry().with_resource(DOC_URI, resource)


def operation_of(method: str, path: str) -> tuple[str, dict[str, Any]] | None:
    for op_method, pattern, template, operation in _operations():
        if op_method == method and pattern.match(path):
            return template, operation
    return None


def check_answer(method: str, path: str, status: int, content_type: str, body: Any) -> None:
    """Raise AssertionError when the answer is not what the document says."""
    found = operation_of(method.upper(), path.split("?", 1)[0])
    if found is None:
        return  # not an API operation (health, metrics) or the route test's business
    template, operation = found
    name = f"{method.upper()} {template} ({operation['operationId']})"
    responses = operation["responses"]
    response = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX")
    if response is None:
        raise AssertionError(f"{name}: status {status} is not in the document")
    content = response.get("content")
    if content is None:
        return
    media = content.get(content_type) or next(iter(content.values()))
    schema = media.get("schema")
    if schema is None or body is None or not content_type.endswith("json"):
        return
    validator = jsonschema.Draft202012Validator(_rebase(schema), registry=_registry())
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(body)"
        raise AssertionError(
            f"{name}: the {status} answer departs from the document at {where}: {first.message}"
        )


def _rebase(node: Any) -> Any:
    """A schema taken out of the document, its local refs pointing back into it."""
    if isinstance(node, dict):
        return {
            key: (
                DOC_URI + value
                if key == "$ref" and isinstance(value, str) and value.startswith("#")
                else _rebase(value)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rebase(item) for item in node]
    return node
