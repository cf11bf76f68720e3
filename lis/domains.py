"""Microsoft domains: the email domains verified in an integration's tenant.

A school's people may only have primary emails in its integration's domains, unique across the
integration's schools. :func:`school_email_tenant` tells ``myschool`` so (it is the
``MYSCHOOL_EMAILS["TENANT_PROVIDER"]``); :func:`microsoft_domains_register` records domains, e.g.
those of freshly loaded data (``myschool.emails.email_domains``).

A school in no integration, or whose integration has no domains yet, has no allowed domains:
domain checks are skipped for it and the readiness report warns instead.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.core.validators import DomainNameValidator
from django.db import transaction
from django.db.models import Q

from myschool.emails import EmailTenant
from myschool.models import School

from .models import Integration, MicrosoftDomain

_domain_name = DomainNameValidator()


def school_email_tenant(school: School) -> EmailTenant:
    """The domains of ``school``'s integrations and the schools of those integrations (two queries)."""
    integrations = Integration.objects.filter(schools=school)
    domains = MicrosoftDomain.objects.filter(integration__in=integrations).values_list("domain", flat=True)
    school_ids = School.objects.filter(integrations__in=integrations).values_list("pk", flat=True)
    return EmailTenant(
        domains=frozenset(domain.lower() for domain in domains), school_ids=frozenset({school.pk, *school_ids})
    )


def tenant_school_ids(school_ids: Iterable[int]) -> set[int]:
    """The schools of ``school_ids`` (those that exist) and every school sharing an integration with one
    of them: the union of their :func:`school_email_tenant` ``school_ids``, in one query whatever their number."""
    ids = set(school_ids)
    integrations = Integration.schools.through.objects.filter(school_id__in=ids).values("integration_id")
    schools = School.objects.filter(Q(pk__in=ids) | Q(integrations__in=integrations))
    return set(schools.values_list("pk", flat=True).distinct())


def integration_domains(integration: Integration) -> list[str]:
    """The integration's domains, sorted."""
    return sorted(integration.domains.values_list("domain", flat=True))


@transaction.atomic
def microsoft_domains_register(*, integration: Integration, domains: Iterable[str]) -> list[MicrosoftDomain]:
    """Record ``domains`` (e.g. ``["contoso.example"]``, ``"@Contoso.Example"`` is the same) for ``integration``.

    Returns one row per distinct domain given, existing rows included. Raises ``ValidationError``
    (and records nothing) for a value that is not a domain name.
    """
    rows = []
    cleaned = []
    for value in domains:
        domain = MicrosoftDomain(integration=integration, domain=value)
        domain.clean()
        try:
            _domain_name(domain.domain)
        except ValidationError:
            raise ValidationError(f"{value!r} is not a domain name such as contoso.example.", code="domain") from None
        if domain.domain not in cleaned:
            cleaned.append(domain.domain)
    for domain in cleaned:
        row, _ = MicrosoftDomain.objects.get_or_create(integration=integration, domain=domain)
        rows.append(row)
    return rows
