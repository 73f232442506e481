from django.apps import AppConfig


class ChargePointsConfig(AppConfig):
    name = "chargepoints"
