"""Typed keys for what handlers find on the aiohttp application."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from ..app import Services

SERVICES: web.AppKey[Services] = web.AppKey("services")
