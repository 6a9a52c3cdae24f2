"""The one error every notification provider raises, so callers decide retries in one place."""

from __future__ import annotations


class ProviderError(Exception):
    """A page was not handed over; ``retryable`` says whether the same attempt can succeed later.

    The message names the provider and its answer, never credentials: it ends up in logs and
    in the delivery history shown to users.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        status: int | None = None,
        code: int | str | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status  # the HTTP status, when the provider answered
        self.code = code  # the provider's own error code, when it gave one
