from types import ModuleType


def __getattr__(name: str) -> ModuleType:
    # Temporary: chargepoints.connection, being moved into the protocol pipeline by parallel
    # work, still says "from chargepoints import outbox". The outbox is chargepoints.commands.
    # outbox now; this goes as soon as that import names it.
    if name == "outbox":
        from chargepoints.commands import outbox

        return outbox
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
