"""What a page into an incident, or a change told to its subscribers, says on each channel.

It is a ``Page`` (same sanitizing, same e-mail builder) whose ``alert_id`` is the incident's
id and whose texts name the incident: its reference (``INC-7``), severity, title and link.
A page offers one action, ``join`` (a signed link, ``notify.links``); texts and calls
carry no reply menu (SMS replies and keypresses act on alerts), so one joins by the link
or the API. A change (``update`` set) offers no action.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .page import TITLE_MAX, VOICE_SUMMARY_MAX, Page, _sentence, one_line, truncate

UPDATE_MAX = 200


@dataclass(frozen=True)
class IncidentPage(Page):
    """``summary``: the incident's title; ``details``: its summary or, for a change, what
    changed; ``update``: a short account of the change ("status changed to MONITORING")."""

    reference: str = ""
    severity: int = 3
    status: str = ""

    ACTIONS: ClassVar[tuple[str, ...]] = ("join",)
    NOUN: ClassVar[str] = "incident"

    def _check_update(self) -> None:
        if not isinstance(self.update, str) or len(self.update) > UPDATE_MAX:
            raise ValueError(f"update must be text of at most {UPDATE_MAX} characters")

    def _name(self) -> str:
        return f"{one_line(self.reference)} SEV{self.severity}"

    def _change(self) -> str:
        return one_line(self.update)

    def push_title(self) -> str:
        if self.update:
            return truncate(f"{self._name()} {self._change()}: {self.clean_summary()}", TITLE_MAX)
        return truncate(f"Paged into {self._name()}: {self.clean_summary()}", TITLE_MAX)

    def push_message(self) -> str:
        lines = [self.clean_details(1500) or self.clean_summary(), f"Status: {self.status}"]
        return "\n".join(lines)

    def email_intro(self) -> str:
        if self.update:
            return f"Incident {self._name()}: {self._change()}"
        return f"You are asked to respond to incident {self._name()} ({self.status})"

    def email_text(self) -> str:
        parts = [self.email_intro(), "", self.clean_summary()]
        details = self.clean_details(10_000)
        if details:
            parts += ["", details]
        if self.links:
            parts += ["", *(f"{label}: {url}" for _, label, url in self.actions())]
        parts += ["", f"Open the incident: {self.alert_url}", "", "-- ", "ilertd"]
        return "\n".join(parts) + "\n"

    def sms_text(self, max_len: int = 320) -> str:
        lead = "[ilertd] " + (
            f"{self._name()} {self._change()}: " if self.update else f"Paged into {self._name()}: "
        )
        return lead + truncate(self.clean_summary(), max(10, max_len - len(lead)))

    def voice_text(self) -> str:
        title = _sentence(truncate(self.clean_summary(), VOICE_SUMMARY_MAX))
        name = f"incident {self.reference.removeprefix('INC-')}, severity {self.severity}"
        if self.update:
            return f"This is ilertd with an update on {name}: {self._change()}. {title}"
        return f"This is ilertd. You are asked to respond to {name}: {title} Join it in ilertd."
