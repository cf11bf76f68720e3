"""Credential handoffs and the integration audit log; clients get a life cycle (pending → current → retired).

Existing clients become *current* and keep their client id in ``client_id`` (kept after their
application is deleted at retirement). The "Support" group gets the new models' permissions.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from myschool.migration_helpers import create_permissions_now

SUPPORT_GROUP = "Support"


def copy_client_ids(apps, schema_editor):
    IntegrationClient = apps.get_model("lis", "IntegrationClient")
    for client in IntegrationClient.objects.select_related("application").filter(client_id=""):
        if client.application_id is not None:
            client.client_id = client.application.client_id
            client.save(update_fields=["client_id"])


def grant_support_every_lis_permission(apps, schema_editor):
    create_permissions_now(apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    support, _ = Group.objects.get_or_create(name=SUPPORT_GROUP)
    support.permissions.add(*Permission.objects.filter(content_type__app_label="lis"))


class Migration(migrations.Migration):

    dependencies = [
        ('lis', '0003_integration_scopes_and_queued_runs'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        migrations.swappable_dependency(settings.OAUTH2_PROVIDER_APPLICATION_MODEL),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='integration',
            options={'ordering': ['name'], 'verbose_name': 'Microsoft integration'},
        ),
        migrations.AlterModelOptions(
            name='integrationclient',
            options={'ordering': ['-created_at', '-pk']},
        ),
        migrations.AddField(
            model_name='integration',
            name='active_since',
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name='integration',
            name='silence_alerted_at',
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name='integration',
            name='suspended_from',
            field=models.CharField(blank=True, choices=[('requested', 'Requested'), ('features_mapped', 'Features mapped'), ('accepted', 'Accepted by Microsoft'), ('credentials_issued', 'Credentials issued'), ('active', 'Active'), ('suspended', 'Suspended')], editable=False, max_length=20),
        ),
        migrations.AddField(
            model_name='integrationclient',
            name='client_id',
            field=models.CharField(blank=True, help_text="The application's client id, kept after retirement.", max_length=100),
        ),
        migrations.AddField(
            model_name='integrationclient',
            name='retired_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='integrationclient',
            name='state',
            field=models.CharField(choices=[('pending', 'Pending confirmation'), ('current', 'Current'), ('retired', 'Retired')], default='current', max_length=10),
        ),
        migrations.AlterField(
            model_name='integration',
            name='key_contact_email',
            field=models.EmailField(help_text='Receives the credential handoff link.', max_length=254),
        ),
        migrations.AlterField(
            model_name='integrationclient',
            name='application',
            field=models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='integration_client', to=settings.OAUTH2_PROVIDER_APPLICATION_MODEL),
        ),
        migrations.CreateModel(
            name='CredentialHandoff',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('token_sha256', models.CharField(editable=False, max_length=64, unique=True)),
                ('ciphertext', models.BinaryField(blank=True, default=b'')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('reason', models.TextField(blank=True, help_text='Why support overrode the cool-down or readiness, if it did.')),
                ('expires_at', models.DateTimeField()),
                ('revealed_at', models.DateTimeField(blank=True, help_text='The first reveal.', null=True)),
                ('revealed_ip', models.GenericIPAddressField(blank=True, help_text='Where the latest reveal came from.', null=True)),
                ('reveal_count', models.PositiveIntegerField(default=0)),
                ('outcome', models.CharField(choices=[('open', 'Open'), ('confirmed', 'Confirmed in SDS'), ('expired', 'Expired'), ('superseded', 'Replaced by a newer link'), ('revoked', 'Revoked')], default='open', max_length=10)),
                ('closed_at', models.DateTimeField(blank=True, null=True)),
                ('client', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='handoffs', to='lis.integrationclient')),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('integration', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='handoffs', to='lis.integration')),
            ],
            options={
                'ordering': ['-created_at', '-pk'],
            },
        ),
        migrations.CreateModel(
            name='IntegrationEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('requested', 'Requested'), ('features_mapped', 'Features mapped'), ('accepted', 'Accepted by Microsoft'), ('issued', 'Credentials issued'), ('rotated', 'Credentials rotated'), ('revealed', 'Credentials revealed'), ('confirmed', 'Credentials confirmed in SDS'), ('expired', 'Handoff expired'), ('retired', 'Client retired'), ('suspended', 'Suspended'), ('resumed', 'Resumed'), ('silence_alerted', 'Support alerted: no API requests')], max_length=20)),
                ('at', models.DateTimeField(default=django.utils.timezone.now)),
                ('ip', models.GenericIPAddressField(blank=True, null=True)),
                ('reason', models.TextField(blank=True)),
                ('detail', models.TextField(blank=True)),
                ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('handoff', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='events', to='lis.credentialhandoff')),
                ('integration', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='events', to='lis.integration')),
            ],
            options={
                'ordering': ['-at', '-pk'],
            },
        ),
        migrations.AddIndex(
            model_name='credentialhandoff',
            index=models.Index(fields=['outcome', 'expires_at'], name='handoff_outcome_expires'),
        ),
        migrations.AddIndex(
            model_name='integrationevent',
            index=models.Index(fields=['integration', '-at'], name='integrationevent_recent'),
        ),
        migrations.RunPython(copy_client_ids, migrations.RunPython.noop),
        migrations.RunPython(grant_support_every_lis_permission, migrations.RunPython.noop),
    ]
