"""Helpers of the primary-email tests: a Microsoft tenant for schools, keys, logins and the mass-edit POST."""

from __future__ import annotations

import uuid

from django.test import Client
from django.urls import reverse

from lis.domains import microsoft_domains_register
from lis.models import Integration
from myschool.emails import PersonKey

DOMAIN = "school.example"  # the domain of the factories' emails


def tenant(*schools, domains=(DOMAIN,), name="Tenant") -> Integration:
    """An integration (Microsoft tenant) of ``schools`` with ``domains`` registered."""
    integration = Integration.objects.create(
        name=name, tenant_id=str(uuid.uuid4()), key_contact_name="Kim", key_contact_email="kim@school.example"
    )
    integration.schools.set(schools)
    microsoft_domains_register(integration=integration, domains=domains)
    return integration


def key(person) -> PersonKey:
    return PersonKey(person._meta.model_name, person.pk)


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def mass_edit_url(school=None, **query) -> str:
    params = {**({"school": school.pk} if school is not None else {}), **query}
    url = reverse("admin:myschool_primaryemail_changelist")
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def mass_edit_post(client: Client, url: str, rows: dict) -> object:
    """POST the mass-edit formset with ``rows`` (person or "role:pk" string → email)."""
    data = {
        "form-TOTAL_FORMS": str(len(rows)),
        "form-INITIAL_FORMS": str(len(rows)),
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "500",
    }
    for index, (person, email) in enumerate(rows.items()):
        data[f"form-{index}-person"] = person if isinstance(person, str) else str(key(person))
        data[f"form-{index}-primary_email"] = email
    return client.post(url, data)
