from django.apps import AppConfig


class LisConfig(AppConfig):
    """Sync settings and selections, Microsoft tenant integrations and the OneRoster publication."""

    name = "lis"
    verbose_name = "Microsoft sync"
