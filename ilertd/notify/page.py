"""What a page says on each channel, derived from one immutable ``Page``.

Alert text comes from whoever holds an integration key, so every text here is sanitized:
one-line fields lose line breaks and control characters (an SMS or a subject must not grow
lines or headers), multi-line details keep only ``\\n`` line breaks, and invisible
characters that can disguise text (zero-width, bidi overrides) are dropped everywhere.

Replies and keypresses map to actions by fixed digits, ``ACTION_DIGITS``: 1 accept,
2 resolve, 3 escalate. A channel offers only the actions the page has a link for, so the
link set decides what a page allows. A bundled page (``bundled > 1``) sums up several new
alerts in one message; it shows the latest one and its actions apply to all of them, which
the texts say ("Reply 1=accept 2=resolve 3=escalate (all 7)"). A status update
(``update`` set: "accepted", "resolved", "escalated") tells what happened to the alert and
offers no actions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import urlsplit

ACTIONS = ("accept", "resolve", "escalate")
#: What a status update says happened, by its kind (a user's ``updates`` rule).
UPDATES = {
    "ALERT_ACCEPTED": "accepted",
    "ALERT_RESOLVED": "resolved",
    "ALERT_ESCALATED": "escalated",
}
ACTION_DIGITS = {"accept": "1", "resolve": "2", "escalate": "3"}
PRIORITIES = ("HIGH", "LOW")

SMS_DEFAULT_MAX = 320  # two GSM-7 segments
SMS_MIN_SUMMARY = 10  # a shorter max_len could not say what the page is about
VOICE_SUMMARY_MAX = 200  # a call should get to the menu within seconds; TwiML max 4000
TITLE_MAX = 200
PUSH_DETAILS_MAX = 1500  # ntfy turns messages over 4 KiB into attachments
EMAIL_DETAILS_MAX = 10_000
SOURCE_MAX = 80
URL_MAX = 2048
ELLIPSIS = "…"
NO_SUMMARY = "(no summary)"

_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f-\x9f]+")
_LINE_BREAK = re.compile(r"\r\n|[\r\x0b\x0c\x85\u2028\u2029]")
_CONTROL_BUT_NEWLINE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_BLANK_LINES = re.compile(r"\n{3,}")
# Characters that are never literal in a URL (RFC 3986): rejecting them keeps links intact
# in every channel, and leaves "&" as the only character HTML needs escaped.
_NOT_IN_URL = re.compile(r"[\s\x00-\x1f\x7f\"<>\\^`{|}]")
_ENDS_SENTENCE = (".", "!", "?", ELLIPSIS)


def one_line(text: str) -> str:
    """``text`` on one line: controls, line breaks and runs of spaces become one space."""
    return _SPACE_OR_CONTROL.sub(" ", _INVISIBLE.sub("", text)).strip()


def text_block(text: str) -> str:
    """Multi-line ``text`` with ``\\n`` breaks only, no other controls, at most one blank line."""
    text = _LINE_BREAK.sub("\n", _INVISIBLE.sub("", text)).replace("\t", " ")
    text = _CONTROL_BUT_NEWLINE.sub("", text)
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", text).strip()


def truncate(text: str, limit: int) -> str:
    """At most ``limit`` characters, a cut marked with an ellipsis."""
    if len(text) <= limit:
        return text
    return text[: limit - len(ELLIPSIS)].rstrip() + ELLIPSIS


def _sentence(text: str) -> str:
    return text if text.endswith(_ENDS_SENTENCE) else text + "."


@dataclass(frozen=True)
class Page:
    """One notification to one person about one alert, or about ``bundled`` new alerts.

    ``links`` maps actions (a subset of ``ACTIONS``) to ready-made signed URLs.
    Raises ValueError for a priority, count, action or URL that no channel could carry.
    """

    alert_id: int
    summary: str
    details: str
    priority: str
    source_name: str
    alert_url: str
    links: dict[str, str]
    bundled: int = 1
    update: str = ""
    #: The actions a link may stand for, in the order they are offered (an incident page
    #: offers "join" instead).
    ACTIONS: ClassVar[tuple[str, ...]] = ACTIONS
    #: What the page is about, in "Open the alert in ilertd".
    NOUN: ClassVar[str] = "alert"

    def __post_init__(self) -> None:
        if isinstance(self.alert_id, bool) or not isinstance(self.alert_id, int):
            raise ValueError(f"alert_id must be an int, not {self.alert_id!r}")
        for name in ("summary", "details", "source_name"):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"{name} must be a string")
        if self.priority not in PRIORITIES:
            raise ValueError(f"priority must be one of {PRIORITIES}, not {self.priority!r}")
        if isinstance(self.bundled, bool) or not isinstance(self.bundled, int) or self.bundled < 1:
            raise ValueError(f"bundled must be an int of at least 1, not {self.bundled!r}")
        self._check_update()
        unknown = set(self.links) - set(self.ACTIONS)
        if unknown:
            raise ValueError(f"unknown link actions {sorted(unknown)}; known: {self.ACTIONS}")
        _check_url("alert_url", self.alert_url)
        for action, url in self.links.items():
            _check_url(f"links[{action!r}]", url)
        # A copy, so the caller mutating its dict cannot change a frozen page.
        object.__setattr__(self, "links", dict(self.links))

    def _check_update(self) -> None:
        if self.update not in ("", *UPDATES.values()):
            raise ValueError(f"update must be one of {sorted(UPDATES.values())}")

    # -- shared pieces -------------------------------------------------------------------

    def actions(self) -> list[tuple[str, str, str]]:
        """(action, button label, URL) for each linked action, in ``ACTIONS`` order."""
        suffix = " all" if self.bundled > 1 else ""
        return [
            (action, action.capitalize() + suffix, self.links[action])
            for action in self.ACTIONS
            if action in self.links
        ]

    def _headline(self, before_latest: str, before_alert: str) -> str:
        """What the message is about, ahead of the (latest) alert: "7 new alerts for you",
        "Resolved", "7 alerts resolved"; empty for a single page."""
        if self.update:
            if self.bundled > 1:
                return f"{self.bundled} alerts {self.update}{before_latest}"
            return f"{self.update.capitalize()}{before_alert}"
        if self.bundled > 1:
            return f"{self.bundled} new alerts for you{before_latest}"
        return ""

    def clean_summary(self) -> str:
        return one_line(self.summary) or NO_SUMMARY

    def clean_source(self) -> str:
        return truncate(one_line(self.source_name), SOURCE_MAX) or "unknown source"

    def clean_details(self, limit: int) -> str:
        return truncate(text_block(self.details), limit)

    # -- SMS -----------------------------------------------------------------------------

    def sms_text(self, max_len: int = SMS_DEFAULT_MAX) -> str:
        """A short text ending with the reply menu, at most ``max_len`` characters.

        "[ilertd] HIGH #42 disk full. Reply 1=accept 2=resolve 3=escalate", or for a bundle
        "[ilertd] 7 new alerts for you, latest: HIGH #42 disk full. Reply 1=accept ... (all 7)".
        Only the summary is shortened; ValueError when ``max_len`` leaves it no room.
        """
        lead = f"[ilertd] {self._headline(', latest: ', ': ')}"
        lead += f"{self.priority} #{self.alert_id} "
        menu = self._sms_menu()
        room = max_len - len(lead) - (len(menu) + 2 if menu else 0)
        if room < SMS_MIN_SUMMARY:
            raise ValueError(f"max_len={max_len} leaves no room for the summary")
        summary = truncate(self.clean_summary(), room)
        if not menu:
            return lead + summary
        return f"{lead}{_sentence(summary)} {menu}"

    def _sms_menu(self) -> str:
        choices = " ".join(f"{ACTION_DIGITS[action]}={action}" for action, _, _ in self.actions())
        if not choices:
            return ""
        scope = f" (all {self.bundled})" if self.bundled > 1 else ""
        return f"Reply {choices}{scope}"

    # -- voice ---------------------------------------------------------------------------

    def voice_text(self) -> str:
        """What a call says, ending with "Press 1 to accept, 2 to resolve, 3 to escalate."."""
        summary = _sentence(truncate(self.clean_summary(), VOICE_SUMMARY_MAX))
        alert = (
            f"{self.priority.lower()} priority alert {self.alert_id} "
            f"from {self.clean_source()}: {summary}"
        )
        if self.update:
            intro = f"This is ilertd with an update. {self._headline('. The latest is a ', ': a ')}"
            intro += alert
        elif self.bundled > 1:
            intro = f"This is ilertd. You have {self.bundled} new alerts. The latest is a {alert}"
        else:
            intro = f"This is ilertd with a {alert}"
        menu = self._voice_menu()
        return f"{intro} {menu}" if menu else intro

    def _voice_menu(self) -> str:
        choices = [f"{ACTION_DIGITS[action]} to {action}" for action, _, _ in self.actions()]
        if not choices:
            return ""
        scope = f" all {self.bundled} alerts" if self.bundled > 1 else ""
        return f"Press {', '.join(choices)}{scope}."

    # -- push ----------------------------------------------------------------------------

    def push_title(self) -> str:
        """One line: "HIGH #42: disk full", or "7 new alerts, latest HIGH #42: disk full"."""
        title = f"{self.priority} #{self.alert_id}: {self.clean_summary()}"
        if self.update or self.bundled > 1:
            title = self._headline(", latest ", ": ").replace(" for you", "") + title
        return truncate(title, TITLE_MAX)

    def push_message(self) -> str:
        """The details (or the summary when there are none) and the source."""
        lines = [self.clean_details(PUSH_DETAILS_MAX) or self.clean_summary()]
        lines.append(f"Source: {self.clean_source()}")
        if self.bundled > 1 and self.links:
            lines.append(f"The actions apply to all {self.bundled} alerts.")
        return "\n".join(lines)

    # -- e-mail --------------------------------------------------------------------------

    def email_subject(self) -> str:
        """A subject line without CR/LF: "[ilertd] HIGH #42: disk full"."""
        return truncate(f"[ilertd] {self.push_title()}", TITLE_MAX)

    def email_intro(self) -> str:
        """The first line of the e-mail, above the summary."""
        alert = f"{self.priority} priority alert #{self.alert_id} from {self.clean_source()}"
        if self.update:
            return self._headline(". The latest: ", ": ") + alert
        if self.bundled > 1:
            return f"{self.bundled} new alerts for you. The latest: {alert}"
        return alert

    def email_text(self) -> str:
        """The plain-text body; each action link stands verbatim on its own line."""
        parts = [self.email_intro(), "", self.clean_summary()]
        details = self.clean_details(EMAIL_DETAILS_MAX)
        if details:
            parts += ["", details]
        if self.links:
            parts.append("")
            parts += [f"{label}: {url}" for _, label, url in self.actions()]
            if self.bundled > 1:
                parts.append(f"These links act on all {self.bundled} alerts.")
        parts += ["", f"Open the alert: {self.alert_url}", "", "-- ", "ilertd"]
        return "\n".join(parts) + "\n"


def _check_url(name: str, url: object) -> None:
    """ValueError unless ``url`` is an absolute http(s) URL; never quotes it (links are secrets)."""
    if not isinstance(url, str) or not url or len(url) > URL_MAX or _NOT_IN_URL.search(url):
        raise ValueError(f"{name} must be a URL of at most {URL_MAX} characters, without spaces")
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a malformed port
    except ValueError:
        raise ValueError(f"{name} is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{name} must be an http(s) URL with a host")
