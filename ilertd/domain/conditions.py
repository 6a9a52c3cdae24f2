"""Alert action conditions: a small, safe language that picks the events an action fires on.

Example: ``priority == "HIGH" and (summary contains "db" or labels.env in ["prod"])``.

The text comes from API callers, so it is tokenized and parsed by hand (no ``eval``), its
size and nesting are bounded, and regexes run on re2, which cannot backtrack
catastrophically. Evaluation never raises for a JSON-like subject: an action's condition
must not be able to break delivery, so anything that does not fit simply does not match.

Semantics worth knowing:

- A path (``labels.env``) descends into objects only; a missing key, or a step through a
  non-object, gives null.
- ``==`` compares like JSON (``true`` is not ``1``; ``1 == 1.0``; lists and objects
  element by element) with one exception: ids often arrive as strings, so a string of ASCII
  digits equals the integer of the same value (``"42" == 42``, ``"042" == 42``, but not
  ``"-1" == -1`` and not ``"4" == 4.0``).
- ``contains``: substring of a string, element of a list, key of an object; otherwise false.
  ``a in b`` is ``b contains a``.
- ``matches``: re2 search in a string (its first 65,536 characters); otherwise false.
- ``<``, ``<=``, ``>``, ``>=``: only between two numbers or two strings; otherwise false.
- A bare path is true when its value is truthy (not null, false, 0, "", [] or {}).
- In strings, ``\\"``, ``\\'``, ``\\\\``, ``\\n`` and ``\\t`` are escapes; a backslash before
  any other character is kept, so a regex like ``"\\d+"`` needs no doubled backslash.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import re2

MAX_TEXT = 4096
#: Parentheses and ``not`` each add a level.
MAX_DEPTH = 32
MAX_LIST_ITEMS = 256
MAX_PATTERN = 1024
#: ``matches`` looks at this many characters of a string; longer text is cut, not refused.
MAX_MATCH_SUBJECT = 65_536
#: A number literal longer than this is refused (Python limits int/str conversion).
MAX_NUMBER = 64

KEYWORDS = frozenset({"and", "or", "not", "in", "contains", "matches", "true", "false", "null"})
_LITERAL_KEYWORDS: dict[str, Any] = {"true": True, "false": False, "null": None}
_WORD_OPERATORS = frozenset({"contains", "matches", "in"})
_OPERATOR_LIST = "==, !=, contains, not contains, matches, in, not in, <, <=, >, >="
_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "n": "\n", "t": "\t"}
#: Characters people reach for from other languages, and what to write instead.
_FOREIGN_OPERATORS = {
    "&&": '"and"',
    "||": '"or"',
    "&": '"and"',
    "|": '"or"',
    "=": '"=="',
    "!": '"not" or "!="',
}

_TOKEN = re.compile(
    r"(?P<space>\s+)"
    r"|(?P<number>-?[0-9]+(?:\.[0-9]+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)*)"
    r"|(?P<op>==|!=|<=|>=|<|>)"
    r"|(?P<punct>[()\[\],])"
)
_FOREIGN = re.compile(r"&&|\|\||[&|=!]")
_NUMBER_TAIL = re.compile(r"[A-Za-z0-9_.\-]+")


class ConditionError(ValueError):
    """The condition text (or an alertFilter) is unusable; ``str()`` is a 400 answer.

    ``position`` is the 0-based offset in the text, None when the whole text is at fault.
    """

    def __init__(self, message: str, position: int | None = None) -> None:
        where = "" if position is None else f" at character {position}"
        super().__init__(f"conditions: {message}{where}")
        self.message = message
        self.position = position


# --- values: JSON semantics with the id exception ------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_list(value: Any) -> bool:
    return isinstance(value, list | tuple)


def _digits_equal(text: Any, number: Any) -> bool:
    """``"42" == 42``: ids travel as strings as often as numbers."""
    if not (isinstance(text, str) and isinstance(number, int) and not isinstance(number, bool)):
        return False
    if not (text.isascii() and text.isdigit()):
        return False
    try:
        return int(text) == number
    except ValueError:  # more digits than Python converts; no id is that long
        return False


def _scalar_equal(left: Any, right: Any) -> bool:
    if _is_number(left) and _is_number(right):
        return bool(left == right)
    for kind in (str, bool):
        if isinstance(left, kind) and isinstance(right, kind):
            return bool(left == right)
    if left is None and right is None:
        return True
    return _digits_equal(left, right) or _digits_equal(right, left)


def json_equal(left: Any, right: Any) -> bool:
    """JSON equality, iterative so deep subjects cannot exhaust the stack."""
    pending = [(left, right)]
    while pending:
        a, b = pending.pop()
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            if len(a) != len(b) or any(key not in b for key in a):
                return False
            pending.extend((a[key], b[key]) for key in a)
        elif _is_list(a) and _is_list(b):
            if len(a) != len(b):
                return False
            pending.extend(zip(a, b, strict=True))
        elif not _scalar_equal(a, b):
            return False
    return True


def _contains(container: Any, item: Any) -> bool:
    if isinstance(container, str):
        return isinstance(item, str) and item in container
    if _is_list(container):
        return any(json_equal(element, item) for element in container)
    if isinstance(container, Mapping):
        return isinstance(item, str) and item in container
    return False


def _ordered(compare: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def ordered(left: Any, right: Any) -> bool:
        comparable = (_is_number(left) and _is_number(right)) or (
            isinstance(left, str) and isinstance(right, str)
        )
        return comparable and bool(compare(left, right))

    return ordered


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "==": json_equal,
    "!=": lambda left, right: not json_equal(left, right),
    "contains": _contains,
    "not contains": lambda left, right: not _contains(left, right),
    "in": lambda left, right: _contains(right, left),
    "not in": lambda left, right: not _contains(right, left),
    "<": _ordered(operator.lt),
    "<=": _ordered(operator.le),
    ">": _ordered(operator.gt),
    ">=": _ordered(operator.ge),
}


# --- the syntax tree ------------------------------------------------------------------------


class _Node(Protocol):
    def evaluate(self, subject: Mapping[str, Any]) -> bool: ...


@dataclass(frozen=True)
class Path:
    names: tuple[str, ...]

    def resolve(self, subject: Any) -> Any:
        value = subject
        for name in self.names:
            if not isinstance(value, Mapping):
                return None
            value = value.get(name)
        return value

    def __str__(self) -> str:
        return ".".join(self.names)


@dataclass(frozen=True)
class Literal:
    """A string, number, true, false, null, or a list of those (as a tuple)."""

    value: Any

    def resolve(self, subject: Any) -> Any:
        return self.value


Operand = Path | Literal


@dataclass(frozen=True)
class Truthy:
    path: Path

    def evaluate(self, subject: Mapping[str, Any]) -> bool:
        return bool(self.path.resolve(subject))


@dataclass(frozen=True)
class Compare:
    operator: str
    left: Operand
    right: Operand

    def evaluate(self, subject: Mapping[str, Any]) -> bool:
        return _OPERATORS[self.operator](self.left.resolve(subject), self.right.resolve(subject))


@dataclass(frozen=True)
class Matches:
    left: Operand
    pattern: str
    regex: Any = field(compare=False, repr=False)

    def evaluate(self, subject: Mapping[str, Any]) -> bool:
        value = self.left.resolve(subject)
        if not isinstance(value, str):
            return False
        # Bytes, because re2 encodes str strictly and JSON may carry lone surrogates.
        text = value[:MAX_MATCH_SUBJECT].encode("utf-8", "surrogatepass")
        return self.regex.search(text) is not None


@dataclass(frozen=True)
class Not:
    operand: _Node

    def evaluate(self, subject: Mapping[str, Any]) -> bool:
        return not self.operand.evaluate(subject)


@dataclass(frozen=True)
class And:
    operands: tuple[_Node, ...]

    def evaluate(self, subject: Mapping[str, Any]) -> bool:
        return all(node.evaluate(subject) for node in self.operands)


@dataclass(frozen=True)
class Or:
    operands: tuple[_Node, ...]

    def evaluate(self, subject: Mapping[str, Any]) -> bool:
        return any(node.evaluate(subject) for node in self.operands)


@dataclass(frozen=True)
class Condition:
    """A parsed condition: ``evaluate`` never raises, ``paths`` lists the fields it reads."""

    text: str
    paths: frozenset[str]
    root: _Node = field(repr=False)

    def evaluate(self, subject: Mapping[str, Any]) -> bool:
        return self.root.evaluate(subject)


# --- tokens ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # number, string, name, keyword, op, ( ) [ ] , or end
    value: Any
    start: int
    source: str

    def describe(self) -> str:
        shown = _shorten(self.source)
        match self.kind:
            case "end":
                return "the end of the text"
            case "string":
                return f"the string {shown}"
            case "number":
                return f"the number {shown}"
            case "name":
                return f"the name {shown}"
        return f'"{shown}"'

    def is_keyword(self, *words: str) -> bool:
        return self.kind == "keyword" and self.value in words


def _shorten(source: str) -> str:
    return source if len(source) <= 40 else source[:37] + "..."


def _show_character(character: str) -> str:
    return f'"{character}"' if character.isprintable() else f"U+{ord(character):04X}"


def _read_string(text: str, start: int) -> tuple[str, int]:
    """The string literal opening at ``start``: its value and the offset after it."""
    quote_mark = text[start]
    parts: list[str] = []
    position = start + 1
    while position < len(text):
        character = text[position]
        if character == quote_mark:
            return "".join(parts), position + 1
        if character == "\\" and position + 1 < len(text):
            escaped = text[position + 1]
            parts.append(_ESCAPES.get(escaped, "\\" + escaped))
            position += 2
            continue
        parts.append(character)
        position += 1
    raise ConditionError("unclosed string (a quote is missing)", start)


def _unexpected_character(text: str, position: int) -> ConditionError:
    foreign = _FOREIGN.match(text, position)
    if foreign:
        symbol = foreign.group()
        return ConditionError(
            f'unknown operator "{symbol}" (use {_FOREIGN_OPERATORS[symbol]})', position
        )
    if text[position] == ".":
        return ConditionError('expected a name after "."', position + 1)
    return ConditionError(f"unexpected character {_show_character(text[position])}", position)


def _word_token(name: str, start: int) -> _Token:
    lowered = name.lower()
    if "." not in name and lowered in KEYWORDS:
        return _Token("keyword", lowered, start, name)
    return _Token("name", tuple(name.split(".")), start, name)


def _number_token(source: str, start: int) -> _Token:
    if len(source) > MAX_NUMBER:
        raise ConditionError(f"a number has at most {MAX_NUMBER} characters", start)
    value = float(source) if "." in source else int(source)
    return _Token("number", value, start, source)


def _tokens(text: str) -> Iterator[_Token]:
    position = 0
    while position < len(text):
        if text[position] in "\"'":
            value, end = _read_string(text, position)
            yield _Token("string", value, position, text[position:end])
            position = end
            continue
        match = _TOKEN.match(text, position)
        if match is None:
            raise _unexpected_character(text, position)
        kind, source = match.lastgroup or "", match.group()
        if kind == "number":
            tail = _NUMBER_TAIL.match(text, match.end())
            if tail:
                raise ConditionError(
                    f'malformed number "{_shorten(source + tail.group())}"', position
                )
            yield _number_token(source, position)
        elif kind == "name":
            if text.startswith(".", match.end()):
                raise ConditionError('expected a name after "."', match.end() + 1)
            yield _word_token(source, position)
        elif kind in ("op", "punct"):
            yield _Token(source if kind == "punct" else "op", source, position, source)
        position = match.end()
    yield _Token("end", None, len(text), "")


# --- parser ---------------------------------------------------------------------------------


class _Parser:
    """Recursive descent over the grammar in ``parse_condition``; records the paths read."""

    def __init__(self, text: str) -> None:
        self.tokens = list(_tokens(text))
        self.index = 0
        self.depth = 0
        self.paths: set[str] = set()

    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def take(self) -> _Token:
        token = self.peek()
        self.index += 1
        return token

    def enter(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ConditionError(f"nested deeper than {MAX_DEPTH} levels", token.start)

    def parse(self) -> _Node:
        node = self.parse_or()
        token = self.peek()
        if token.kind == ")":
            raise ConditionError('unmatched ")"', token.start)
        if token.kind != "end":
            raise ConditionError(
                f'expected "and", "or" or the end of the text, found {token.describe()}',
                token.start,
            )
        return node

    def parse_or(self) -> _Node:
        operands = [self.parse_and()]
        while self.peek().is_keyword("or"):
            self.take()
            operands.append(self.parse_and())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def parse_and(self) -> _Node:
        operands = [self.parse_not()]
        while self.peek().is_keyword("and"):
            self.take()
            operands.append(self.parse_not())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def parse_not(self) -> _Node:
        if not self.peek().is_keyword("not"):
            return self.parse_primary()
        self.enter(self.take())
        node = Not(self.parse_not())
        self.depth -= 1
        return node

    def parse_primary(self) -> _Node:
        token = self.peek()
        if token.kind == "(":
            return self.parse_group()
        if self.starts_operand(token):
            return self.parse_comparison()
        raise ConditionError(f"expected a condition, found {token.describe()}", token.start)

    def parse_group(self) -> _Node:
        opening = self.take()
        self.enter(opening)
        node = self.parse_or()
        closing = self.take()
        if closing.kind == "end":
            raise ConditionError('unclosed "("', opening.start)
        if closing.kind != ")":
            raise ConditionError(
                f'expected ")", "and" or "or", found {closing.describe()}', closing.start
            )
        self.depth -= 1
        return node

    @staticmethod
    def starts_operand(token: _Token) -> bool:
        return token.kind in ("name", "string", "number", "[") or token.is_keyword(
            *_LITERAL_KEYWORDS
        )

    def parse_comparison(self) -> _Node:
        first = self.peek()
        left = self.parse_operand()
        operator_token = self.peek()
        symbol = self.parse_operator()
        if symbol is None:
            return self.bare_operand(left, first)
        if symbol == "matches":
            return Matches(left, *self.parse_pattern(operator_token))
        if not self.starts_operand(self.peek()):
            raise self.missing_value(operator_token)
        return Compare(symbol, left, self.parse_operand())

    def bare_operand(self, left: Operand, first: _Token) -> _Node:
        """A path alone tests truthiness; anything else needs an operator."""
        following = self.peek()
        ends_condition = following.kind in ("end", ")") or following.is_keyword("and", "or")
        if isinstance(left, Path) and ends_condition:
            return Truthy(left)
        raise ConditionError(
            f"expected an operator ({_OPERATOR_LIST}) after {first.describe()}, "
            f"found {following.describe()}",
            following.start,
        )

    def parse_operator(self) -> str | None:
        token = self.peek()
        if token.kind == "op" or token.is_keyword(*_WORD_OPERATORS):
            self.take()
            return str(token.value)
        if not token.is_keyword("not"):
            return None
        negated = self.peek(1)
        if negated.is_keyword("contains", "in"):
            self.index += 2
            return f"not {negated.value}"
        raise ConditionError(
            f'expected "contains" or "in" after "not", found {negated.describe()}', negated.start
        )

    def missing_value(self, after: _Token) -> ConditionError:
        found = self.peek()
        detail = "" if found.kind == "end" else f", found {found.describe()}"
        return ConditionError(f'expected a value after "{after.source}"{detail}', found.start)

    def parse_pattern(self, operator_token: _Token) -> tuple[str, Any]:
        token = self.peek()
        if token.kind != "string":
            if not self.starts_operand(token):
                raise self.missing_value(operator_token)
            raise ConditionError(
                f'"matches" needs a quoted pattern, found {token.describe()}', token.start
            )
        self.take()
        return token.value, _compile_pattern(token.value, token.start)

    def parse_operand(self) -> Operand:
        token = self.peek()
        if token.kind == "[":
            return Literal(self.parse_list())
        if token.kind == "name":
            self.take()
            path = Path(token.value)
            self.paths.add(str(path))
            return path
        return Literal(self.parse_literal())

    def parse_literal(self) -> Any:
        token = self.take()
        if token.kind in ("string", "number"):
            return token.value
        if token.is_keyword(*_LITERAL_KEYWORDS):
            return _LITERAL_KEYWORDS[token.value]
        raise ConditionError(
            f"expected a string, number, true, false or null, found {token.describe()}",
            token.start,
        )

    def parse_list(self) -> tuple[Any, ...]:
        opening = self.take()
        items: list[Any] = []
        if self.peek().kind == "]":
            self.take()
            return ()
        while True:
            item = self.peek()
            if item.kind == "end":
                raise ConditionError('unclosed "["', opening.start)
            if len(items) == MAX_LIST_ITEMS:
                raise ConditionError(f"a list holds at most {MAX_LIST_ITEMS} items", item.start)
            items.append(self.parse_literal())
            separator = self.take()
            if separator.kind == "]":
                return tuple(items)
            if separator.kind == "end":
                raise ConditionError('unclosed "["', opening.start)
            if separator.kind != ",":
                raise ConditionError(
                    f'expected "," or "]" in the list, found {separator.describe()}',
                    separator.start,
                )


def _compile_pattern(pattern: str, position: int) -> Any:
    """re2 runs in linear time, so a pattern from an API caller cannot stall delivery."""
    if len(pattern) > MAX_PATTERN:
        raise ConditionError(f"a pattern has at most {MAX_PATTERN} characters", position)
    options = re2.Options()
    options.log_errors = False
    try:
        return re2.compile(pattern, options)
    except (re2.error, UnicodeEncodeError) as exc:
        reason = exc.args[0] if exc.args else "unreadable"
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise ConditionError(f"invalid pattern {quote(pattern)}: {reason}", position) from None


def parse_condition(text: str) -> Condition:
    """Parse condition text, or raise ConditionError saying what is wrong and where.

    Grammar (keywords are case-insensitive)::

        expr       := or
        or         := and ("or" and)*
        and        := not ("and" not)*
        not        := "not" not | primary
        primary    := "(" expr ")" | comparison | path        (a bare path: is it truthy)
        comparison := operand OP operand     (for "matches" the right is a string literal)
        OP         := == | != | contains | not contains | matches | in | not in
                      | < | <= | > | >=
        operand    := path | string | number | true | false | null | "[" literals "]"
        path       := name ("." name)*       with name [A-Za-z_][A-Za-z0-9_-]*
    """
    if not isinstance(text, str):
        raise ConditionError("must be a string")
    if len(text) > MAX_TEXT:
        raise ConditionError(f"is longer than {MAX_TEXT} characters")
    if not text.strip():
        raise ConditionError("must not be empty (leave it out to match every event)")
    parser = _Parser(text)
    root = parser.parse()
    return Condition(text=text, paths=frozenset(parser.paths), root=root)


# --- writing conditions ---------------------------------------------------------------------

_QUOTED = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t"}


def quote(value: str) -> str:
    """``value`` as a double-quoted string literal of the language."""
    return '"' + "".join(_QUOTED.get(character, character) for character in value) + '"'


# --- ilert's older alertFilter --------------------------------------------------------------

_FILTER_FIELDS = {
    "ALERT_SUMMARY": "summary",
    "ALERT_DETAILS": "details",
    "ESCALATION_POLICY": "escalationPolicy.id",
    "ALERT_PRIORITY": "priority",
}
_FILTER_OPERATORS = {"AND": " and ", "OR": " or "}


def _any_word(path: str, words: Sequence[str]) -> str:
    clauses = [f"{path} contains {quote(word)}" for word in words]
    return clauses[0] if len(clauses) == 1 else "(" + " or ".join(clauses) + ")"


def _no_word(path: str, words: Sequence[str]) -> str:
    clauses = [f"{path} not contains {quote(word)}" for word in words]
    return clauses[0] if len(clauses) == 1 else "(" + " and ".join(clauses) + ")"


_TEXT_CRITERIA: dict[str, Callable[[str, str], str]] = {
    "CONTAINS_ANY_WORDS": lambda path, value: _any_word(path, value.split()),
    "CONTAINS_NOT_WORDS": lambda path, value: _no_word(path, value.split()),
    "CONTAINS_STRING": lambda path, value: f"{path} contains {quote(value)}",
    "CONTAINS_NOT_STRING": lambda path, value: f"{path} not contains {quote(value)}",
    "IS_STRING": lambda path, value: f"{path} == {quote(value)}",
    "IS_NOT_STRING": lambda path, value: f"{path} != {quote(value)}",
    "MATCHES_REGEX": lambda path, value: f"{path} matches {quote(value)}",
    "MATCHES_NOT_REGEX": lambda path, value: f"not {path} matches {quote(value)}",
}
_ID_CRITERIA = {"IS_STRING": "==", "IS_NOT_STRING": "!="}
MAX_POLICY_ID = 2**63 - 1


def _one_of(choices: Iterable[str]) -> str:
    return "must be one of " + ", ".join(choices)


def _policy_id(value: Any, where: str) -> int:
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_POLICY_ID:
        return value
    raise ConditionError(f"{where}.value: must be an escalation policy id")


def _translate_predicate(predicate: Any, where: str) -> str:
    if not isinstance(predicate, Mapping):
        raise ConditionError(f"{where}: must be an object with field, criteria and value")
    field_name, criteria, value = (predicate.get(key) for key in ("field", "criteria", "value"))
    if not isinstance(field_name, str) or field_name not in _FILTER_FIELDS:
        raise ConditionError(f"{where}.field: {_one_of(_FILTER_FIELDS)}")
    if not isinstance(criteria, str) or criteria not in _TEXT_CRITERIA:
        raise ConditionError(f"{where}.criteria: {_one_of(_TEXT_CRITERIA)}")
    path = _FILTER_FIELDS[field_name]
    if field_name == "ESCALATION_POLICY":
        if criteria not in _ID_CRITERIA:
            raise ConditionError(f"{where}.criteria: for ESCALATION_POLICY {_one_of(_ID_CRITERIA)}")
        clause = f"{path} {_ID_CRITERIA[criteria]} {_policy_id(value, where)}"
    else:
        clause = _TEXT_CRITERIA[criteria](path, _text_value(value, criteria, where))
    _check_translation(clause, f"{where}.value")
    return clause


def _text_value(value: Any, criteria: str, where: str) -> str:
    if not isinstance(value, str):
        raise ConditionError(f"{where}.value: must be a string")
    if criteria in ("CONTAINS_ANY_WORDS", "CONTAINS_NOT_WORDS") and not value.split():
        raise ConditionError(f"{where}.value: must hold at least one word")
    return value


def _check_translation(text: str, where: str) -> None:
    """A translation that does not parse (a bad regex, too long) is the filter's fault."""
    try:
        parse_condition(text)
    except ConditionError as exc:
        raise ConditionError(f"{where}: {exc.message}") from None


def condition_from_alert_filter(alert_filter: Any) -> str:
    """Condition text equivalent to ilert's ``alertFilter`` ({operator, predicates}).

    Words are split on whitespace; matching is case-sensitive like ``contains``.
    """
    if not isinstance(alert_filter, Mapping):
        raise ConditionError("alertFilter: must be an object with operator and predicates")
    operator_name = alert_filter.get("operator")
    if not isinstance(operator_name, str) or operator_name not in _FILTER_OPERATORS:
        raise ConditionError(f"alertFilter.operator: {_one_of(_FILTER_OPERATORS)}")
    predicates = alert_filter.get("predicates")
    if not isinstance(predicates, list) or not predicates:
        raise ConditionError("alertFilter.predicates: must be a non-empty list")
    text = _FILTER_OPERATORS[operator_name].join(
        _translate_predicate(predicate, f"alertFilter.predicates[{index}]")
        for index, predicate in enumerate(predicates)
    )
    _check_translation(text, "alertFilter")
    return text
