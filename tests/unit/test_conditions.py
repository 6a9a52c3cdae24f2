"""The alert action condition language: parsing, evaluation, errors, and alertFilter."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ilertd.domain.conditions import (
    MAX_DEPTH,
    MAX_LIST_ITEMS,
    MAX_PATTERN,
    MAX_TEXT,
    Condition,
    ConditionError,
    condition_from_alert_filter,
    parse_condition,
    quote,
)

FAST = settings(max_examples=200, deadline=None)

ALERT: dict[str, Any] = {
    "id": 17,
    "summary": "db-1 is down",
    "details": "disk full on /var",
    "status": "PENDING",
    "priority": "HIGH",
    "severity": None,
    "alertKey": "db-1",
    "alertSource": {"id": "3", "name": "Postgres"},
    "escalationPolicy": {"id": 12, "name": "Ops"},
    "labels": {"env": "prod", "team": "data"},
    "responders": [{"user": {"id": 5}}],
    "eventType": "alert-created",
    "count": 2.5,
}


def holds(text: str, subject: dict[str, Any] | None = None) -> bool:
    return parse_condition(text).evaluate(ALERT if subject is None else subject)


def error_of(text: str) -> ConditionError:
    with pytest.raises(ConditionError) as caught:
        parse_condition(text)
    return caught.value


# --- operators ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('priority == "HIGH"', True),
        ('priority == "high"', False),
        ('priority != "LOW"', True),
        ("priority != 'HIGH'", False),
        ('summary contains "down"', True),
        ('summary contains "DOWN"', False),
        ('summary not contains "up"', True),
        ('details matches "disk (full|low)"', True),
        ('details matches "^full"', False),
        ('labels.env in ["prod", "staging"]', True),
        ('labels.env in ["dev"]', False),
        ('labels.env not in ["dev"]', True),
        ('"own" in summary', True),
        ("count < 3", True),
        ("count <= 2.5", True),
        ("count > 2.5", False),
        ("count >= -1", True),
        ('alertKey < "db-2"', True),
        ('alertKey > "db-0"', True),
        ("escalationPolicy.id == 12", True),
        ("escalationPolicy.id == 12.0", True),
        ("severity == null", True),
        ("labels contains 'env'", True),
        ("labels contains 'region'", False),
        ("labels not contains 'region'", True),
    ],
)
def test_operators(text: str, expected: bool) -> None:
    assert holds(text) is expected


def test_contains_looks_into_lists_with_json_equality() -> None:
    subject = {"tags": ["a", 1, True, None, {"k": [1, 2]}]}
    assert holds('tags contains "a"', subject)
    assert holds("tags contains 1", subject)
    assert holds("tags contains true", subject)
    assert holds("tags contains null", subject)
    assert not holds("tags contains false", subject)
    assert not holds('tags contains "b"', subject)
    assert not holds("tags contains [1, 2]", subject)
    assert holds("1 in tags", subject)


def test_operators_on_mismatched_types_are_false_not_errors() -> None:
    assert not holds('count contains "2"')
    assert not holds("summary contains 1")
    assert not holds('id matches "17"')
    assert not holds('count < "3"')
    assert not holds("labels > 1")
    assert not holds("responders in 3")
    assert not holds('labels contains ["env"]')


def test_booleans_are_not_numbers() -> None:
    subject = {"flag": True, "one": 1}
    assert holds("flag == true", subject)
    assert not holds("flag == 1", subject)
    assert not holds("one == true", subject)
    assert not holds("flag > 0", subject)


def test_strings_and_numbers_are_unequal_except_digit_ids() -> None:
    assert holds("alertSource.id == 3")
    assert holds('alertSource.id == "3"')
    assert holds("alertSource.id in [1, 3]")
    assert holds('escalationPolicy.id == "12"')
    assert holds('escalationPolicy.id in ["12"]')
    assert holds("x == 7", {"x": "007"})
    assert not holds("x == -1", {"x": "-1"})
    assert not holds("x == 4.0", {"x": "4"})
    assert not holds("x == 4", {"x": "4.0"})
    assert not holds("x == 4", {"x": " 4"})
    assert not holds("x == 1", {"x": "\u0661"})  # an Arabic-Indic digit is not an id
    assert not holds("x > 3", {"x": "4"})  # ordering does not coerce


def test_lists_and_objects_compare_element_by_element() -> None:
    assert holds('tags == ["a", 1]', {"tags": ["a", 1.0]})
    assert not holds('tags == ["a"]', {"tags": ["a", 1]})
    assert holds("tags == []", {"tags": []})
    assert holds("a == b", {"a": {"x": [1, {"y": None}]}, "b": {"x": [1.0, {"y": None}]}})
    assert not holds("a == b", {"a": {"x": 1}, "b": {"x": 1, "y": 2}})
    assert not holds("a == b", {"a": {"x": 1}, "b": {"y": 1}})


def test_precedence_and_binds_tighter_than_or() -> None:
    assert holds("a or b and c", {"a": True, "b": False, "c": False})
    assert not holds("(a or b) and c", {"a": True, "b": False, "c": False})
    assert holds("a and b or c", {"a": False, "b": False, "c": True})
    assert not holds("a and (b or c)", {"a": False, "b": False, "c": True})


def test_not_binds_tighter_than_and() -> None:
    assert holds("not a and b", {"a": False, "b": True})
    assert not holds("not (a and b)", {"a": True, "b": True})
    assert holds("not not a", {"a": 1})
    assert holds('not priority == "LOW"')


def test_keywords_are_case_insensitive() -> None:
    assert holds('priority == "HIGH" AND summary CONTAINS "db" Or FALSE == TRUE')
    assert holds('NOT labels.env IN ["dev"] and labels.env Not In ["qa"]')
    assert holds('details MATCHES "full" and severity == NULL and labels.env NOT CONTAINS "x"')


def test_paths_are_case_sensitive() -> None:
    assert not holds('PRIORITY == "HIGH"')


def test_bare_path_is_truthiness() -> None:
    assert holds("labels and responders and summary")
    for falsy in (None, False, 0, 0.0, "", [], {}):
        assert not holds("x", {"x": falsy})
    assert not holds("missing")


def test_missing_paths_resolve_to_null() -> None:
    assert holds("nothing == null")
    assert holds("labels.region == null")
    assert holds("summary.deeper == null")  # a step through a string
    assert holds("responders.user == null")  # lists are not descended
    assert not holds('labels.region contains "a"')
    assert holds('labels.region not in ["eu"]')


def test_names_may_contain_dashes_and_keywords_after_a_dot() -> None:
    subject = {"labels": {"k8s-namespace": "web", "in": "x", "_x": 1}}
    assert holds('labels.k8s-namespace == "web"', subject)
    assert holds('labels.in == "x"', subject)
    assert holds("labels._x == 1", subject)


def test_strings_escapes() -> None:
    assert holds(r'x == "a\"b"', {"x": 'a"b'})
    assert holds(r"x == 'a\'b'", {"x": "a'b"})
    assert holds("x == 'say \"hi\"'", {"x": 'say "hi"'})
    assert holds(r'x == "a\\b"', {"x": "a\\b"})
    assert holds(r'x == "1\n2\t3"', {"x": "1\n2\t3"})
    assert holds(r'x == "\d"', {"x": "\\d"})  # other escapes are kept for regexes
    assert holds(r'x matches "^\d+$"', {"x": "123"})


def test_numbers() -> None:
    assert holds("x == -3", {"x": -3})
    assert holds("x == 0.5", {"x": 0.5})
    assert holds("x>=-0.5", {"x": 0})


def test_regex_runs_in_linear_time() -> None:
    subject = {"x": "a" * 50_000 + "!"}
    assert not holds('x matches "(a+)+$"', subject)
    assert holds('x matches "(a+)+!$"', subject)


def test_regex_sees_only_the_first_64k_characters() -> None:
    subject = {"x": "a" * 70_000 + "needle"}
    assert not holds('x matches "needle"', subject)
    assert holds('x contains "needle"', subject)


def test_regex_is_unicode_aware_and_survives_lone_surrogates() -> None:
    assert holds('x matches "^é.$"', {"x": "é€"})
    assert not holds('x matches "z"', {"x": "\ud800a"})
    assert holds('x matches "a"', {"x": "\ud800a"})


def test_subject_that_is_not_an_object() -> None:
    condition = parse_condition('a == null and not a and a != "x"')
    for subject in ([], "text", 3, None):
        assert condition.evaluate(subject) is True  # type: ignore[arg-type]


def test_condition_keeps_text_and_paths() -> None:
    text = ' priority == "HIGH" and (labels.env or "x" in alertSource.name) '
    condition = parse_condition(text)
    assert isinstance(condition, Condition)
    assert condition.text == text
    assert condition.paths == frozenset({"priority", "labels.env", "alertSource.name"})


def test_conditions_are_immutable_and_comparable() -> None:
    condition = parse_condition('x matches "a"')
    with pytest.raises(AttributeError):
        condition.text = "y"  # type: ignore[misc]
    assert condition == parse_condition('x matches "a"')
    assert hash(condition) == hash(parse_condition('x matches "a"'))


def test_limits_at_the_boundary_are_accepted() -> None:
    assert holds("(" * MAX_DEPTH + "a" + ")" * MAX_DEPTH, {"a": 1})
    assert holds("not " * MAX_DEPTH + "a", {"a": 1})
    assert holds("x in [" + ", ".join(["1"] * MAX_LIST_ITEMS) + "]", {"x": 1})
    assert holds(f"x matches {quote('a' * MAX_PATTERN)}", {"x": "a" * MAX_PATTERN})
    long_text = "x == 1" + " " * (MAX_TEXT - 6)
    assert holds(long_text, {"x": 1})


def test_a_long_chain_of_and_does_not_recurse_deeply() -> None:
    text = " and ".join(["a"] * 680)
    assert len(text) <= MAX_TEXT
    assert holds(text, {"a": 1})


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ('priority == "HIGH', "unclosed string (a quote is missing)", 12),
        ("'abc\\'", "unclosed string (a quote is missing)", 0),
        ('(priority == "HIGH"', 'unclosed "("', 0),
        ("a or (b and (c)", 'unclosed "("', 5),
        ("a)", 'unmatched ")"', 1),
        ("priority == ", 'expected a value after "=="', 12),
        ("a == and b", 'expected a value after "==", found "and"', 5),
        ("a and", "expected a condition, found the end of the text", 5),
        ("or a", 'expected a condition, found "or"', 0),
        ('priority = "HIGH"', 'unknown operator "=" (use "==")', 9),
        ("a && b", 'unknown operator "&&" (use "and")', 2),
        ("a || b", 'unknown operator "||" (use "or")', 2),
        ("!a", 'unknown operator "!" (use "not" or "!=")', 0),
        (
            'priority is "HIGH"',
            "expected an operator (==, !=, contains, not contains, "
            "matches, in, not in, <, <=, >, >=) after the name priority, found the name is",
            9,
        ),
        (
            "3",
            "expected an operator (==, !=, contains, not contains, matches, in, not in, "
            "<, <=, >, >=) after the number 3, found the end of the text",
            1,
        ),
        ("a not b", 'expected "contains" or "in" after "not", found the name b', 6),
        ('a == 1 "x"', 'expected "and", "or" or the end of the text, found the string "x"', 7),
        ("a == b == c", 'expected "and", "or" or the end of the text, found "=="', 7),
        ('x matches "disk (full"', 'invalid pattern "disk (full": missing ): disk (full', 10),
        ('x matches "a**"', 'invalid pattern "a**": bad repetition operator: **', 10),
        ("x matches y", '"matches" needs a quoted pattern, found the name y', 10),
        ("x matches", 'expected a value after "matches"', 9),
        ("x in [1, 2", 'unclosed "["', 5),
        ("x in [1 2]", 'expected "," or "]" in the list, found the number 2', 8),
        ("x in [1,]", 'expected a string, number, true, false or null, found "]"', 8),
        ("x in [y]", "expected a string, number, true, false or null, found the name y", 6),
        ("x in [[1]]", 'expected a string, number, true, false or null, found "["', 6),
        ("labels.", 'expected a name after "."', 7),
        ("labels..env", 'expected a name after "."', 7),
        ("x == 3abc", 'malformed number "3abc"', 5),
        ("x == 1.2.3", 'malformed number "1.2.3"', 5),
        ("x == " + "9" * 65, "a number has at most 64 characters", 5),
        ("x # y", 'unexpected character "#"', 2),
        ("x\x00", "unexpected character U+0000", 1),
        ("(" * (MAX_DEPTH + 1) + "a" + ")" * (MAX_DEPTH + 1), "nested deeper than 32 levels", 32),
        ("not " * (MAX_DEPTH + 1) + "a", "nested deeper than 32 levels", 128),
        (
            "x in [" + ",".join(["1"] * (MAX_LIST_ITEMS + 1)) + "]",
            "a list holds at most 256 items",
            6 + 2 * MAX_LIST_ITEMS,
        ),
        (
            f"x matches {quote('a' * (MAX_PATTERN + 1))}",
            "a pattern has at most 1024 characters",
            10,
        ),
    ],
)
def test_errors_say_what_and_where(text: str, message: str, position: int) -> None:
    error = error_of(text)
    assert error.message == message
    assert error.position == position
    assert str(error) == f"conditions: {message} at character {position}"


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_text_is_an_error(text: str) -> None:
    error = error_of(text)
    assert error.position is None
    assert str(error) == "conditions: must not be empty (leave it out to match every event)"


def test_too_long_text_is_an_error() -> None:
    error = error_of("a" * (MAX_TEXT + 1))
    assert error.position is None
    assert str(error) == "conditions: is longer than 4096 characters"


def test_text_that_is_not_a_string_is_an_error() -> None:
    with pytest.raises(ConditionError, match="must be a string"):
        parse_condition(None)  # type: ignore[arg-type]


def test_condition_error_is_a_value_error() -> None:
    assert issubclass(ConditionError, ValueError)


# --- quote ----------------------------------------------------------------------------------


def test_quote_escapes() -> None:
    assert quote("a\"b\\c\nd\te'") == '"a\\"b\\\\c\\nd\\te\'"'
    assert quote("") == '""'


# --- alertFilter ----------------------------------------------------------------------------


def one(field: str, criteria: str, value: Any) -> dict[str, Any]:
    return {
        "operator": "AND",
        "predicates": [{"field": field, "criteria": criteria, "value": value}],
    }


@pytest.mark.parametrize(
    ("field", "path"),
    [("ALERT_SUMMARY", "summary"), ("ALERT_DETAILS", "details"), ("ALERT_PRIORITY", "priority")],
)
@pytest.mark.parametrize(
    ("criteria", "template"),
    [
        ("CONTAINS_ANY_WORDS", '({path} contains "a" or {path} contains "b\\"c")'),
        ("CONTAINS_NOT_WORDS", '({path} not contains "a" and {path} not contains "b\\"c")'),
        ("CONTAINS_STRING", '{path} contains "a  b\\"c"'),
        ("CONTAINS_NOT_STRING", '{path} not contains "a  b\\"c"'),
        ("IS_STRING", '{path} == "a  b\\"c"'),
        ("IS_NOT_STRING", '{path} != "a  b\\"c"'),
        ("MATCHES_REGEX", '{path} matches "a  b\\"c"'),
        ("MATCHES_NOT_REGEX", 'not {path} matches "a  b\\"c"'),
    ],
)
def test_alert_filter_text_fields(field: str, path: str, criteria: str, template: str) -> None:
    text = condition_from_alert_filter(one(field, criteria, 'a  b"c'))
    assert text == template.format(path=path)
    parse_condition(text)


@pytest.mark.parametrize(
    ("criteria", "value", "subject", "expected"),
    [
        ("CONTAINS_ANY_WORDS", "disk cpu", "disk is full", True),
        ("CONTAINS_ANY_WORDS", "mem cpu", "disk is full", False),
        ("CONTAINS_NOT_WORDS", "mem cpu", "disk is full", True),
        ("CONTAINS_NOT_WORDS", "mem disk", "disk is full", False),
        ("CONTAINS_ANY_WORDS", "disk", "disk is full", True),
        ("CONTAINS_STRING", "is full", "disk is full", True),
        ("CONTAINS_NOT_STRING", "is full", "disk is full", False),
        ("IS_STRING", "disk is full", "disk is full", True),
        ("IS_NOT_STRING", "disk is full", "disk is full", False),
        ("MATCHES_REGEX", r"^disk\s+is", "disk is full", True),
        ("MATCHES_NOT_REGEX", r"^disk\s+is", "disk is full", False),
    ],
)
def test_alert_filter_behaves_like_its_criteria(
    criteria: str, value: str, subject: str, expected: bool
) -> None:
    text = condition_from_alert_filter(one("ALERT_SUMMARY", criteria, value))
    assert holds(text, {"summary": subject}) is expected


@pytest.mark.parametrize(
    ("criteria", "value", "text"),
    [
        ("IS_STRING", 12, "escalationPolicy.id == 12"),
        ("IS_STRING", "12", "escalationPolicy.id == 12"),
        ("IS_NOT_STRING", "12", "escalationPolicy.id != 12"),
    ],
)
def test_alert_filter_escalation_policy(criteria: str, value: Any, text: str) -> None:
    assert condition_from_alert_filter(one("ESCALATION_POLICY", criteria, value)) == text
    assert holds(text) is (criteria == "IS_STRING")


def test_alert_filter_combines_predicates() -> None:
    predicates = [
        {"field": "ALERT_PRIORITY", "criteria": "IS_STRING", "value": "HIGH"},
        {"field": "ALERT_SUMMARY", "criteria": "CONTAINS_ANY_WORDS", "value": "web db"},
    ]
    both = condition_from_alert_filter({"operator": "AND", "predicates": predicates})
    either = condition_from_alert_filter({"operator": "OR", "predicates": predicates})
    assert both == 'priority == "HIGH" and (summary contains "web" or summary contains "db")'
    assert either == 'priority == "HIGH" or (summary contains "web" or summary contains "db")'
    assert holds(both)
    assert not holds(both, {"priority": "LOW", "summary": "db"}) and holds(
        either, {"priority": "LOW", "summary": "db"}
    )


GOOD = {"field": "ALERT_SUMMARY", "criteria": "CONTAINS_STRING", "value": "x"}


@pytest.mark.parametrize(
    ("alert_filter", "message"),
    [
        (None, "alertFilter: must be an object with operator and predicates"),
        ([GOOD], "alertFilter: must be an object with operator and predicates"),
        ({"predicates": [GOOD]}, "alertFilter.operator: must be one of AND, OR"),
        ({"operator": "XOR", "predicates": [GOOD]}, "alertFilter.operator: must be one of AND, OR"),
        (
            {"operator": ["AND"], "predicates": [GOOD]},
            "alertFilter.operator: must be one of AND, OR",
        ),
        ({"operator": "AND"}, "alertFilter.predicates: must be a non-empty list"),
        ({"operator": "AND", "predicates": []}, "alertFilter.predicates: must be a non-empty list"),
        (
            {"operator": "AND", "predicates": GOOD},
            "alertFilter.predicates: must be a non-empty list",
        ),
        (
            {"operator": "OR", "predicates": [GOOD, "x"]},
            "alertFilter.predicates[1]: must be an object with field, criteria and value",
        ),
        (
            {"operator": "OR", "predicates": [GOOD, {**GOOD, "field": "ALERT_KEY"}]},
            "alertFilter.predicates[1].field: must be one of ALERT_SUMMARY, ALERT_DETAILS, "
            "ESCALATION_POLICY, ALERT_PRIORITY",
        ),
        (
            {"operator": "OR", "predicates": [{**GOOD, "field": {"a": 1}}]},
            "alertFilter.predicates[0].field: must be one of ALERT_SUMMARY, ALERT_DETAILS, "
            "ESCALATION_POLICY, ALERT_PRIORITY",
        ),
        (
            {"operator": "OR", "predicates": [GOOD, {**GOOD, "criteria": "STARTS_WITH"}]},
            "alertFilter.predicates[1].criteria: must be one of CONTAINS_ANY_WORDS, "
            "CONTAINS_NOT_WORDS, CONTAINS_STRING, CONTAINS_NOT_STRING, IS_STRING, "
            "IS_NOT_STRING, MATCHES_REGEX, MATCHES_NOT_REGEX",
        ),
        (
            {"operator": "OR", "predicates": [{**GOOD, "criteria": None}]},
            "alertFilter.predicates[0].criteria: must be one of CONTAINS_ANY_WORDS, "
            "CONTAINS_NOT_WORDS, CONTAINS_STRING, CONTAINS_NOT_STRING, IS_STRING, "
            "IS_NOT_STRING, MATCHES_REGEX, MATCHES_NOT_REGEX",
        ),
        (
            {"operator": "AND", "predicates": [{**GOOD, "value": 3}]},
            "alertFilter.predicates[0].value: must be a string",
        ),
        (
            {
                "operator": "AND",
                "predicates": [{**GOOD, "criteria": "CONTAINS_ANY_WORDS", "value": "  "}],
            },
            "alertFilter.predicates[0].value: must hold at least one word",
        ),
        (
            {
                "operator": "AND",
                "predicates": [{**GOOD, "criteria": "MATCHES_REGEX", "value": "a("}],
            },
            'alertFilter.predicates[0].value: invalid pattern "a(": missing ): a(',
        ),
        (
            one("ESCALATION_POLICY", "CONTAINS_STRING", "12"),
            "alertFilter.predicates[0].criteria: for ESCALATION_POLICY must be one of "
            "IS_STRING, IS_NOT_STRING",
        ),
        (
            one("ESCALATION_POLICY", "IS_STRING", "Ops"),
            "alertFilter.predicates[0].value: must be an escalation policy id",
        ),
        (
            one("ESCALATION_POLICY", "IS_STRING", True),
            "alertFilter.predicates[0].value: must be an escalation policy id",
        ),
        (
            one("ESCALATION_POLICY", "IS_STRING", -1),
            "alertFilter.predicates[0].value: must be an escalation policy id",
        ),
        (
            {"operator": "AND", "predicates": [{**GOOD, "value": "x" * 3000}] * 2},
            "alertFilter: is longer than 4096 characters",
        ),
    ],
)
def test_malformed_alert_filters(alert_filter: Any, message: str) -> None:
    with pytest.raises(ConditionError) as caught:
        condition_from_alert_filter(alert_filter)
    assert caught.value.message == message
    assert caught.value.position is None
    assert str(caught.value) == f"conditions: {message}"


# --- properties -----------------------------------------------------------------------------

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(["3", "HIGH", "db", "prod", "alert-created"]),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(
            st.sampled_from(["a", "b", "id", "labels", "env", "x"]), children, max_size=5
        )
    ),
    max_leaves=10,
)
SUBJECTS = st.dictionaries(
    st.sampled_from(["a", "b", "id", "labels", "x", "summary"]), JSON, max_size=4
)

#: Pieces that make syntactically interesting (often valid) conditions when strung together.
FRAGMENTS = st.sampled_from(
    [
        "a",
        "b",
        "x",
        "id",
        "labels.env",
        "a.b",
        "==",
        "!=",
        "<",
        "<=",
        ">",
        ">=",
        "contains",
        "not",
        "in",
        "matches",
        "and",
        "or",
        "(",
        ")",
        "[",
        "]",
        ",",
        '"db"',
        "'x'",
        "3",
        "-1.5",
        "true",
        "false",
        "null",
        '"(a+)+$"',
        '"\\\\d"',
        '"',
        "\\",
        ".",
        "=",
        "&&",
        "AND",
        "Not",
    ]
)
CONDITION_TEXT = st.lists(FRAGMENTS, min_size=1, max_size=12).map(" ".join)

COMPARISONS = st.builds(
    lambda left, op, right: f"{left} {op} {right}",
    st.sampled_from(["a", "b", "x", "id", "labels.env", "a.b", "3", '"3"', "null", "true"]),
    st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "contains", "not contains", "in", "not in"]),
    st.sampled_from(["a", "b", "x", "3", "2.5", '"3"', '"db"', '[1, "3", null]', "[]", "false"]),
) | st.sampled_from(["a", "x", 'a matches "^d"', 'x matches "(a+)+$"', "labels.env"])
VALID_TEXT = st.recursive(
    COMPARISONS,
    lambda inner: (
        st.builds(lambda a, b: f"{a} and {b}", inner, inner)
        | st.builds(lambda a, b: f"({a} or {b})", inner, inner)
        | inner.map(lambda a: f"not ({a})")
    ),
    max_leaves=8,
)


@FAST
@given(st.text(max_size=60) | CONDITION_TEXT)
def test_parse_returns_a_condition_or_raises_condition_error(text: str) -> None:
    try:
        result = parse_condition(text)
    except ConditionError as error:
        assert error.position is None or 0 <= error.position <= len(text)
        assert str(error).startswith("conditions: ")
    else:
        assert isinstance(result, Condition)


@FAST
@given(CONDITION_TEXT | VALID_TEXT, SUBJECTS)
def test_evaluate_never_raises_and_returns_a_bool(text: str, subject: dict[str, Any]) -> None:
    try:
        condition = parse_condition(text)
    except ConditionError:
        return
    assert condition.evaluate(subject) in (True, False)
    assert type(condition.evaluate(subject)) is bool


@FAST
@given(VALID_TEXT, SUBJECTS)
def test_generated_valid_conditions_parse_and_evaluate(text: str, subject: dict[str, Any]) -> None:
    assert type(parse_condition(text).evaluate(subject)) is bool


@FAST
@given(st.text(max_size=200))
def test_quote_round_trips(value: str) -> None:
    condition = parse_condition(f"x == {quote(value)}")
    assert condition.evaluate({"x": value}) is True
    assert parse_condition(f"x in [{quote(value)}]").evaluate({"x": value}) is True


@FAST
@given(st.text(alphabet=st.characters() | st.characters(categories=["Cs"]), max_size=50))
def test_quote_round_trips_any_code_point(value: str) -> None:
    assert parse_condition(f"x == {quote(value)}").evaluate({"x": value}) is True


@FAST
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "field": st.sampled_from(["ALERT_SUMMARY", "ALERT_DETAILS", "ALERT_PRIORITY"]),
                "criteria": st.sampled_from(
                    [
                        "CONTAINS_ANY_WORDS",
                        "CONTAINS_NOT_WORDS",
                        "CONTAINS_STRING",
                        "CONTAINS_NOT_STRING",
                        "IS_STRING",
                        "IS_NOT_STRING",
                    ]
                ),
                "value": st.text(min_size=1, max_size=20).filter(lambda value: bool(value.split())),
            }
        ),
        min_size=1,
        max_size=4,
    ),
    st.sampled_from(["AND", "OR"]),
)
def test_alert_filter_translations_always_parse(predicates: list[Any], operator: str) -> None:
    text = condition_from_alert_filter({"operator": operator, "predicates": predicates})
    assert type(parse_condition(text).evaluate(ALERT)) is bool
