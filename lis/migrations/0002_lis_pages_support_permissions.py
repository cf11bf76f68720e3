"""Give the "Support" group every LIS permission; name the selection history for school administrators.

School administrators get no LIS permission from their group: they reach LIS Courses and LIS
Classes only through support's feature grants (lis.backends.FeatureGrantBackend).
"""

from django.db import migrations

from myschool.migration_helpers import create_permissions_now

SUPPORT_GROUP = "Support"


def grant_support_every_lis_permission(apps, schema_editor):
    create_permissions_now(apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    support, _ = Group.objects.get_or_create(name=SUPPORT_GROUP)
    # Every lis permission: manage_lis_courses / manage_lis_classes, and view/add/change/delete of
    # every lis model (feature grants, sync settings, selections, their history, integrations…).
    support.permissions.add(*Permission.objects.filter(content_type__app_label="lis"))


class Migration(migrations.Migration):
    dependencies = [
        ("lis", "0001_initial"),
        ("myschool", "0002_roles"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="selectionchange",
            options={
                "ordering": ["-changed_at", "-pk"],
                "verbose_name": "LIS change",
                "verbose_name_plural": "LIS history",
            },
        ),
        migrations.RunPython(grant_support_every_lis_permission, migrations.RunPython.noop),
    ]
