"""Staff admin of the chargepoints app (CPO staff see every tenant), one module per subject;
importing them registers their pages."""

from chargepoints.admin import (  # noqa: F401
    authorization,
    charge_points,
    commands,
    configuration,
    message_log,
    reports,
    reservations,
    security,
)
