"""The API's wire shapes, one msgspec Struct per resource: what a request may send and what
an answer carries. Pure (no I/O): the HTTP layer decodes and validates bodies with them,
renderers build them, and the OpenAPI document is generated from them
(``ilertd/http/routes.py``), so a field is declared in one place.
"""
