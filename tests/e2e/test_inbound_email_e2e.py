"""``ilertd serve`` with ``inbound_email.listen``: the SMTP listener runs beside HTTP, a
mail opens an alert readable right after the 250, nothing of the key or the body reaches
the log, and SIGTERM stops both listeners cleanly."""

from __future__ import annotations

import smtplib
from email import policy
from email.message import EmailMessage
from pathlib import Path

from .daemon import Daemon, free_port, http

ADMIN = "ilk_test_admin_key_0123456789abcdef"
DOMAIN = "alerts.example.test"


def test_serve_accepts_mail_for_an_email_source(tmp_path: Path, dsn: str) -> None:
    smtp_port = free_port()
    daemon = Daemon(
        tmp_path,
        ILERTD_DATABASE_URL=dsn,
        ILERTD_ADMIN_API_KEY=ADMIN,
        ILERTD_INBOUND_EMAIL_LISTEN=f"127.0.0.1:{smtp_port}",
        ILERTD_INBOUND_EMAIL_DOMAIN=DOMAIN,
    ).start()
    try:
        daemon.wait_ready()
        body = {"name": "mail", "integrationType": "EMAIL"}
        status, source = http("POST", daemon.url + "/api/alert-sources", key=ADMIN, body=body)
        assert status == 201, source
        key = source["integrationKey"]
        mail = EmailMessage()
        mail["Subject"] = "Backup failed"
        mail["From"] = "backup@example.test"
        mail.set_content("nightly job exited 2: confidential-detail")
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=20) as smtp:
            smtp.ehlo()
            assert smtp.mail("backup@example.test")[0] == 250
            assert smtp.rcpt(f"{key}@{DOMAIN}")[0] == 250
            code, reply = smtp.data(mail.as_bytes(policy=policy.SMTP))
        assert code == 250, reply
        path = f"/api/alerts?sources={source['id']}"
        status, alerts = http("GET", daemon.url + path, key=ADMIN)
        assert status == 200 and [a["summary"] for a in alerts] == ["Backup failed"]
        assert alerts[0]["details"] == "nightly job exited 2: confidential-detail"
        assert daemon.terminate() == 0
        logs = daemon.logs()
        assert any(e.get("event") == "inbound mail listening" for e in daemon.log_events())
        assert any(e.get("event") == "inbound mail stopped" for e in daemon.log_events())
        assert key not in logs and "confidential-detail" not in logs
    finally:
        daemon.close()
