"""A stopped session's energy settled from the best evidence (``transactions.energy``), for every
way a session ends: the charger's StopTransaction, a close on the server, a reconciliation."""

from transactions.energy import ENERGY_FLAGS, EnergyChoice, RegisterReading, session_energy
from transactions.models import Transaction
from transactions.selectors import transaction_register_readings

# Flags saying a figure is not what the meter showed (the compatibility layer brought it into
# a 64-bit column): such a meterStart/meterStop is no evidence. A rounded one still is.
_UNTRUSTED_FIGURES = frozenset({"meter_start_out_of_range", "meter_stop_out_of_range"})


def energy_settle(
    tx: Transaction, *, readings: list[RegisterReading] | None = None
) -> EnergyChoice:
    """Set ``energy_wh``, ``energy_source`` and the energy flags on ``tx`` (stopped, not saved:
    the caller saves it with its other changes). ``readings``: the session's register readings
    when the caller already read them."""
    if readings is None:
        readings = transaction_register_readings(transaction_id=tx.pk)
    choice = session_energy(
        meter_start=tx.meter_start,
        meter_stop=tx.meter_stop,
        readings=readings,
        start_stop_trusted=not _UNTRUSTED_FIGURES.intersection(tx.flags),
    )
    tx.energy_wh = choice.energy_wh
    tx.energy_source = choice.source
    # A recomputation (the charger's stop after a server close) replaces the earlier findings.
    kept = [f for f in tx.flags if f not in ENERGY_FLAGS]
    tx.flags = kept + [f for f in choice.flags if f not in kept]
    return choice


# The fields energy_settle sets, for ``save(update_fields=...)``.
SETTLED_FIELDS = ("energy_wh", "energy_source", "flags")
