from django.apps import AppConfig


class SmartChargingConfig(AppConfig):
    name = "smartcharging"
