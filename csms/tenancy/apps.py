from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "csms.tenancy"
    label = "tenancy"
    verbose_name = "Tenancy"
