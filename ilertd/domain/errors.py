"""Domain rule violations; the HTTP layer answers them 409 (or 400) with the message."""


class DomainError(Exception):
    """A command broke a rule of the aggregate."""


class InvalidValueError(DomainError):
    """A value is malformed; ``field`` names it for the 400 answer."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
