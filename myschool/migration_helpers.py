"""Helpers for data migrations. Keep them stable: applied migrations import them."""

from django.contrib.auth.management import create_permissions


def create_permissions_now(apps) -> None:
    """Create every app's permissions in the migration state ``apps`` at once.

    Django creates permissions after all migrations (``post_migrate``); a data migration that
    grants them to a group needs them before that.
    """
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
