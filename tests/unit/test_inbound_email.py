"""Mail -> alert mapping (pure) and the inbound_email settings."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from ilertd.config import ConfigError, load_config
from ilertd.contract.events import MAX_ALERT_KEY, MAX_SUMMARY
from ilertd.inbound.email import (
    NO_SUBJECT,
    html_text,
    mail_alert,
    message_digest,
    parse_mail,
    subject_key,
)
from ilertd.inbound.smtp import email_settings


def test_plain_part_is_preferred_over_html() -> None:
    mail = EmailMessage()
    mail["Subject"] = "=?utf-8?q?Disk_f=C3=BCll?=  on db1"
    mail["From"] = "Monitor <mon@example.test>"
    mail["Message-ID"] = "<1@example.test>"
    mail.set_content("plain\r\n\r\n\r\n\r\nend  ")
    mail.add_alternative("<p>html</p>", subtype="html")
    parsed = parse_mail(mail.as_bytes())
    assert parsed.subject == "Disk füll on db1"
    assert parsed.body == "plain\n\nend"
    assert parsed.sender == "Monitor <mon@example.test>"
    assert parsed.message_id == "<1@example.test>"


def test_html_gives_visible_text_only() -> None:
    markup = (
        "<html><head><title>hidden</title><style>.a{}</style></head><body>"
        "<h2>Job failed</h2><table><tr><td>host</td><td>db1</td></tr></table>"
        "<p>a&nbsp;&lt;b&gt; <i>c</i></p><script>var x</script></body></html>"
    )
    text = html_text(markup)
    assert "hidden" not in text and "var x" not in text and ".a{}" not in text
    assert [line for line in text.split("\n") if line] == ["Job failed", "host db1", "a <b> c"]


def test_attachments_are_ignored_and_a_missing_subject_is_named() -> None:
    mail = EmailMessage()
    mail.set_content("see attached")
    mail.add_attachment(b"\x00\x01binary", maintype="application", subtype="octet-stream")
    parsed = parse_mail(mail.as_bytes())
    assert parsed.subject == NO_SUBJECT and parsed.body == "see attached"


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"no headers at all",
        b"Subject: \xff\xfe\r\nContent-Type: text/plain; charset=nonsense\r\n\r\n\xff\xfe",
        b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nbroken",
        b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64",
    ],
)
def test_malformed_mail_never_raises(raw: bytes) -> None:
    parsed = parse_mail(raw)
    assert parsed.subject and isinstance(parsed.body, str)


def test_subject_keys_are_normalised_and_bounded() -> None:
    assert subject_key("  CPU   High\t") == subject_key("cpu high") == "cpu high"
    long = subject_key("x" * (MAX_ALERT_KEY + 1))
    assert long.startswith("subject-sha256:") and len(long) <= MAX_ALERT_KEY


def test_alert_creation_decides_the_key_and_long_subjects_are_cut() -> None:
    mail = EmailMessage()
    mail["Subject"] = "s" * (MAX_SUMMARY + 10)
    mail.set_content("body")
    parsed = parse_mail(mail.as_bytes())
    per_mail = mail_alert(parsed, "ONE_ALERT_PER_EMAIL")
    assert per_mail.alert_key is None
    assert len(per_mail.summary) == MAX_SUMMARY and per_mail.summary.endswith("…")
    assert mail_alert(parsed, "ONE_ALERT_PER_EMAIL_SUBJECT").alert_key is not None


def test_a_retry_has_the_digest_of_the_first_delivery() -> None:
    first = parse_mail(b"Message-ID: <a@b>\r\nSubject: x\r\n\r\none")
    resent = parse_mail(b"Received: by relay\r\nMessage-ID: <a@b>\r\nSubject: x\r\n\r\none")
    assert message_digest(first, b"1") == message_digest(resent, b"2")
    bare = parse_mail(b"Subject: x\r\n\r\none")
    assert message_digest(bare, b"one") != message_digest(bare, b"two")


def test_settings_are_off_by_default_and_need_a_domain() -> None:
    assert email_settings(load_config(None, env={})) is None
    env = {"ILERTD_INBOUND_EMAIL_LISTEN": "0.0.0.0:2525"}
    with pytest.raises(ConfigError, match=r"inbound_email\.domain"):
        load_config(None, env=env)
    with pytest.raises(ConfigError, match=r"inbound_email\.listen"):
        load_config(None, env={"ILERTD_INBOUND_EMAIL_LISTEN": "nope", **_domain()})
    settings = email_settings(load_config(None, env={**env, **_domain()}))
    assert settings is not None
    assert (settings.host, settings.port, settings.domain) == ("0.0.0.0", 2525, "alerts.test")
    assert settings.max_message_bytes == 10 * 1024 * 1024


def _domain() -> dict[str, str]:
    return {"ILERTD_INBOUND_EMAIL_DOMAIN": "Alerts.Test"}
