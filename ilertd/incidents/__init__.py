"""Incidents: declaring (with the gapless ``INC-<n>`` number), commands, the resolve
cascade to linked alerts, time travel and the wire views."""
