"""Alerts as one feature: every command on an alert, its history and its views.

A command loads the aggregate, applies, and appends with the version it was loaded at; a
ConcurrencyError means someone else changed the alert in between, so the command is
applied again on the fresh state (the rules are re-checked). Inbound events find "the"
alert for a key through keyed stream ids (see ilertd.domain.alert), so the dedup rule holds
in the store even with several ilertd instances racing.

- ``streams``: alert id -> stream, the shared retry bound
- ``history``: an alert rebuilt from its events as of a moment (time travel, webhooks)
- ``policies``: live escalation policies and schedules, cached briefly; who is on call
- ``escalation``: taking the next step, alone or in rounds of many due at once
- ``creation``: opening an alert, its first step in the same append
- ``ingest``: the Events API's dedup hot path
- ``commands``: REST and page commands (act, respond) and auto-resolve
- ``service``: ``AlertCommands``, the one object the rest of ilertd is wired with
- ``views``: the ilert Alert object from a read-model row or a snapshot
"""
