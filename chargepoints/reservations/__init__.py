"""Reservations (OCPP 1.6 §5.13 ReserveNow, §5.5 CancelReservation)."""
