"""The error of a command refused before it is queued (HTTP 400, nothing stored); in a module
of its own so that the rules the dispatch asks (``chargepoints.security.commands``) can raise it
without importing the dispatch."""

from csms.errors import DomainError


class CommandRejectedError(DomainError):
    code = "invalid_command"
