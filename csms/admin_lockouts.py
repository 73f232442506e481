"""Admin login lockouts (django-axes) in the security logger: staff belong to no tenant, so
they are no row of a tenant's security log, but operators ship ``csms.security`` elsewhere and
must hear of someone guessing staff passwords."""

import logging
from typing import Any

from axes.signals import user_locked_out
from django.dispatch import receiver

security_log = logging.getLogger("csms.security")


@receiver(user_locked_out)
def admin_login_locked_out(
    sender: Any,
    request: Any = None,
    username: str | None = None,
    ip_address: str | None = None,
    **kwargs: Any,
) -> None:
    security_log.warning(
        "admin login locked out: user %r from %s (too many failed logins)", username, ip_address
    )
