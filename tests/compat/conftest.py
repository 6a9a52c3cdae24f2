"""ilert's clients' request shapes, replayed against a real daemon: each test sends what
ilert-go, the Terraform provider or ilert-js sends for one call and checks what that client
reads back (status code, fields). The fixtures are the integration tests' own."""

from __future__ import annotations

from ..integration.conftest import api

__all__ = ["api"]
