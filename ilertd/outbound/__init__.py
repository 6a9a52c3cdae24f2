"""Outbound: alert actions, their targets, and delivery."""
