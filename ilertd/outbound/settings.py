"""The dispatcher's settings, read from the configuration in one place."""

from __future__ import annotations

from ..config import Config, networks
from .dispatcher import DispatchSettings
from .guard import NetworkPolicy
from .smtp import SmtpSettings


def public_url(config: Config) -> str:
    """Where people reach this daemon: links in webhooks, chat messages and mails."""
    if config["http.public_url"]:
        return config["http.public_url"].rstrip("/")
    host, port = config.listen
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{port}"


def smtp_settings(config: Config) -> SmtpSettings | None:
    if not config["smtp.host"]:
        return None
    return SmtpSettings(
        host=config["smtp.host"],
        port=config["smtp.port"],
        security=config["smtp.security"],
        username=config["smtp.username"] or None,
        password=config["smtp.password"] or None,
        sender=config["smtp.from"],
        timeout_s=config["outbound.timeout_s"],
        validate_certs=config["smtp.validate_certs"],
    )


def dispatch_settings(config: Config) -> DispatchSettings:
    return DispatchSettings(
        concurrency=config["outbound.concurrency"],
        max_attempts=config["outbound.max_attempts"],
        retry_base_s=config["outbound.retry_base_s"],
        retry_max_s=config["outbound.retry_max_s"],
        timeout_s=config["outbound.timeout_s"],
        public_url=public_url(config),
        policy=NetworkPolicy.from_config(
            networks(config["outbound.allow_networks"]),
            networks(config["outbound.deny_networks"]),
            config["outbound.deny_private_networks"],
        ),
        smtp=smtp_settings(config),
    )
