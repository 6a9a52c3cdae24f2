"""The aiohttp API: one module per resource, middlewares for ids, errors and auth."""
