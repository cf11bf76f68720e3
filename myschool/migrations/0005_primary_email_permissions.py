"""Grant the primary-email permissions.

Support gets every permission of the new models, including ``bulk_update_primary_emails_unlimited``
(CSV files, patterns and reverts above the bulk limit). School administrators may use the
*Primary emails* page (view and change) and read the email history of their school.
"""

from django.db import migrations

from myschool.migration_helpers import create_permissions_now

NEW_MODELS = ["primaryemail", "emailchangebatch", "emailchange"]
SCHOOL_ADMINISTRATOR_PERMISSIONS = [
    "view_primaryemail",
    "change_primaryemail",
    "view_emailchangebatch",
    "view_emailchange",
]


def grant(apps, schema_editor):
    create_permissions_now(apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    new = Permission.objects.filter(content_type__app_label="myschool", content_type__model__in=NEW_MODELS)
    support, _ = Group.objects.get_or_create(name="Support")
    support.permissions.add(*new)
    administrators, _ = Group.objects.get_or_create(name="School administrators")
    administrators.permissions.add(*new.filter(codename__in=SCHOOL_ADMINISTRATOR_PERMISSIONS))


class Migration(migrations.Migration):
    dependencies = [
        ("myschool", "0004_primary_emails"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
