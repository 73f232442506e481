"""The domain errors services raise (STYLE §12): a small set, known to no protocol.

A service refuses an operation with one of these; each entry point turns it into its own
answer — the API's exception handler (``csms.api.exceptions``) into a JSON 4xx, the admin into
a message. Services import them from here, never from the API layer above them.
"""


class DomainError(Exception):
    """A service refused an operation for a reason the caller can fix (the API answers 400)."""

    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class ConflictError(DomainError):
    """Refused because of the state the object is in, not the request (the API answers 409)."""

    code = "conflict"
