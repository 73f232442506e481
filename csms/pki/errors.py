"""The one exception of the certificate primitives: every reason something was refused."""


class PkiError(ValueError):
    """A certificate, key or request was refused; ``problems`` says why, one sentence each.

    Callers show the problems to staff or store them with a security event; none of them
    contains key material.
    """

    def __init__(self, problems: list[str] | tuple[str, ...]) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        super().__init__("; ".join(self.problems))
