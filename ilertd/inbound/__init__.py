"""Inbound endpoints: request bodies that alert sources send, validated without I/O."""
