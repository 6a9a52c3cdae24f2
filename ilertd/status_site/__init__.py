"""The status pages ilertd serves itself: ``/status/<slug>`` as server-rendered HTML (Jinja2,
readable without JavaScript), its Atom feed and a JSON summary for widgets.

What a visitor sees comes only from what status updates published (``status_updates``,
``public_impacts``) and from maintenance windows: never an incident's severity, internal
summary or responders, which these modules do not even read. ``view`` is the pure part
(worst status, groups, day bars, open and past incidents); ``queries`` reads the read
models; ``site`` serves the routes.
"""
