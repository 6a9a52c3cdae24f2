"""Reacts to events: fires timers (auto-resolve now; escalations with the on-call engine)."""
