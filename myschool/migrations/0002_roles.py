"""Create the "Support" and "School administrators" groups and grant their permissions."""

from django.db import migrations

from myschool.migration_helpers import create_permissions_now

SCHOOL_MANAGED = [
    "academicyear", "term", "subject", "course", "schoolclass", "student", "teacher",
    "coursestudent", "classstudent", "courseteacher", "classteacher",
]
SCHOOL_ADMINISTRATOR_PERMISSIONS = [
    ("myschool", "view_school"),
    ("myschool", "change_school"),
    ("myschool", "view_schoolgroup"),
    *[("myschool", f"{action}_{model}") for model in SCHOOL_MANAGED for action in ("add", "change", "delete", "view")],
]
SUPPORT_EXTRA_PERMISSIONS = [
    ("auth", "add_user"),
    ("auth", "change_user"),
    ("auth", "view_user"),
    ("auth", "view_group"),
]


def grant(apps, group_name, permissions):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=group_name)
    for app_label, codename in permissions:
        group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


def create_roles(apps, schema_editor):
    create_permissions_now(apps)
    Permission = apps.get_model("auth", "Permission")
    every_myschool_permission = [
        ("myschool", codename)
        for codename in Permission.objects.filter(content_type__app_label="myschool").values_list("codename", flat=True)
    ]
    grant(apps, "Support", every_myschool_permission + SUPPORT_EXTRA_PERMISSIONS)
    grant(apps, "School administrators", SCHOOL_ADMINISTRATOR_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("myschool", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
