"""The notifier's settings, read from the configuration in one place."""

from __future__ import annotations

from ..config import Config, networks
from ..outbound.guard import NetworkPolicy
from ..outbound.settings import public_url, smtp_settings
from .notifier import NotifySettings
from .ntfy import NtfySettings
from .twilio import TwilioSettings


def twilio_settings(config: Config) -> TwilioSettings | None:
    if not config["notify.twilio_account_sid"]:
        return None
    return TwilioSettings(
        base_url=config["notify.twilio_base_url"],
        account_sid=config["notify.twilio_account_sid"],
        auth_token=config["notify.twilio_auth_token"],
        from_number=config["notify.twilio_from"],
    )


def notify_settings(config: Config, link_secret: bytes) -> NotifySettings:
    ntfy = config["notify.ntfy_base_url"]
    return NotifySettings(
        public_url=public_url(config),
        link_secret=link_secret,
        link_ttl_s=config["notify.link_ttl_s"],
        max_attempts=config["notify.max_attempts"],
        retry_base_s=config["notify.retry_base_s"],
        timeout_s=config["outbound.timeout_s"],
        smtp=smtp_settings(config),
        twilio=twilio_settings(config),
        ntfy=NtfySettings(ntfy, config["notify.ntfy_token"] or None) if ntfy else None,
        ntfy_topic_prefix=config["notify.ntfy_topic_prefix"],
        bundle_window_s=config["notify.bundle_window_s"],
        message_window_s=config["notify.message_window_s"],
        policy=NetworkPolicy.from_config(
            networks(config["outbound.allow_networks"]),
            networks(config["outbound.deny_networks"]),
            config["outbound.deny_private_networks"],
        ),
    )
