"""Reads on transactions and meter values."""

from django.db.models import QuerySet

from transactions.models import MeterValue, Transaction


def transaction_meter_values(*, transaction: Transaction) -> QuerySet[MeterValue]:
    """Every sampled value of ``transaction``, oldest first (ties in the order received)."""
    return MeterValue.objects.filter(transaction=transaction).order_by("timestamp", "id")
