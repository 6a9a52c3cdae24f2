"""The document's patterns say what the domain's checks take: a sample the pattern admits
passes the check, one it refuses fails it (schemathesis's positive_data_acceptance and
negative_data_rejection hold the daemon to the same, over generated requests)."""

from __future__ import annotations

import re

import pytest

from ilertd.contract.common import DURATION_PATTERN, TRIMMED_PATTERN, spaces
from ilertd.contract.user_contacts import PHONE_PATTERN
from ilertd.contract.users import EMAIL_PATTERN
from ilertd.domain.durations import DurationError, parse_duration
from ilertd.domain.errors import InvalidValueError
from ilertd.domain.text import checked_name
from ilertd.domain.user import Contact

#: whitespace ECMA-262 and Python disagree on, and some both call whitespace
ODD = ["\x1c", "\x1f", "\x85", "\xa0", "\u2028", "\u3000", "\ufeff", "\t", " "]


def _admits(pattern: str, text: str) -> bool:
    return re.search(pattern, text) is not None


def _passes(check, text: str) -> bool:  # type: ignore[no-untyped-def]
    try:
        check(text)
    except (InvalidValueError, DurationError):
        return False
    return True


def test_spaces_spells_out_pythons_whitespace_in_and_out_of_classes() -> None:
    pattern = spaces(r"^\s*[^@\s]+\S$")
    assert "\\s" not in pattern and "\\S" not in pattern
    assert _admits(pattern, "\x85ab") and not _admits(pattern, "a\x85b\x85")
    assert spaces(r"\d\.\\s") == r"\d\.\\s"  # other escapes, and an escaped backslash, stay


NAMES = ["ops", "  ops  ", "", " ", "a\tb", "\tab\n", "a b", "é", "x\x01", "\x00"]
NAMES += [f"{c}ops{c}" for c in ODD] + list(ODD) + [f"o{c}ps" for c in ODD]


@pytest.mark.parametrize("text", NAMES)
def test_a_name_the_pattern_admits_is_one_the_domain_takes(text: str) -> None:
    assert _admits(TRIMMED_PATTERN, text) == _passes(checked_name, text)


EMAILS = ["a@b.c", " a@b.c ", "a@b", "a@@b", "a@.b", "a@b..c", "a b@c.d", "a@b\x85.c"]
EMAILS += [f"\x85a@b.c{c}" for c in ODD] + ["ä@ö.ü", "a@b.c\x01"]


@pytest.mark.parametrize("text", EMAILS)
def test_an_email_the_pattern_admits_is_one_the_domain_takes(text: str) -> None:
    assert _admits(EMAIL_PATTERN, text) == _passes(lambda t: Contact("EMAIL", t).checked(), text)


PHONES = ["+4915112345678", " +49 151 1234-5678 ", "(+49) 151 12345678", "+123", "4915112345"]
PHONES += ["+49\t15112345678", "+491511234567890123", "\x85+4915112345678"]


@pytest.mark.parametrize("text", PHONES)
def test_a_phone_number_the_pattern_admits_is_one_the_domain_takes(text: str) -> None:
    assert _admits(PHONE_PATTERN, text) == _passes(lambda t: Contact("PHONE", t).checked(), text)


DURATIONS = ["PT5M", "pt5m", " P1DT2H ", "P1W", "PT", "P", "P1DT", "P1Y", "PT1.5S", "", "5"]


@pytest.mark.parametrize("text", DURATIONS)
def test_a_duration_the_pattern_admits_is_one_the_parser_reads(text: str) -> None:
    assert _admits(DURATION_PATTERN, text) == _passes(parse_duration, text)
