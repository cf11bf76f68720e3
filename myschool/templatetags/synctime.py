"""``{% load synctime %}``: ``{{ value|sync_time }}`` → ``2026-12-01 09:30 CET`` (see :mod:`myschool.synctime`)."""

from django import template

from myschool import synctime

register = template.Library()


@register.filter
def sync_time(value):
    """An aware datetime in the sync zone, labelled: ``2026-12-01 09:30 CET``; ``—`` when empty."""
    return synctime.sync_time(value)


@register.simple_tag
def next_publication():
    """``tonight 00:00 CET (in 5 h)``."""
    return synctime.next_publication_text()
