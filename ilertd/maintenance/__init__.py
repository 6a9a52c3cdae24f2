"""Maintenance windows at work: the ingest path's check (``gate``)."""
