"""Natural order of course and class names on the LIS pages: "Art 7A" before "Art 10A".

Databases compare names character by character, so "10A" < "7A". Both PostgreSQL and SQLite
must give the same order, so the order is computed in Python: the changelist reads the filtered
rows' ``(pk, school name, group name)`` once, sorts them with :func:`natural_key`, and fetches
only the current page's rows in that order (two queries whatever the number of rows; paging,
"show all" and ``list_editable`` keep working because the page is still a QuerySet).
"""

from __future__ import annotations

import re

from django.contrib.admin.views.main import ORDER_VAR, ChangeList
from django.db.models import Case, IntegerField, Value, When

_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple:
    """Sort key of ``text`` comparing runs of digits as numbers, case-insensitively.

    ``natural_key("Art 7A") < natural_key("Art 10A")``. The key alternates text and numbers
    (``("art ", 7, "a")``) and always starts with text, so two keys compare position by position
    without mixing types.
    """
    parts = _DIGITS.split(text.casefold())
    return tuple(int(part) if index % 2 else part for index, part in enumerate(parts))


def natural_sorted(objects, name) -> list:
    """``objects`` sorted by ``natural_key(name(obj))``."""
    return sorted(objects, key=lambda obj: natural_key(name(obj)))


class NaturalOrderChangeList(ChangeList):
    """A changelist that orders by school, then group name in natural order.

    Applies when no column is chosen (the default order) or when the name column is, ascending or
    descending. Any other column keeps the database's order. The model admin names
    ``natural_fields = (school name lookup, group name lookup)`` and ``natural_column`` (the
    ``list_display`` entry of the name).
    """

    def natural_direction(self) -> bool | None:
        """None: not ordered by name; otherwise True when descending."""
        order = self.params.get(ORDER_VAR)
        if isinstance(order, list):
            order = order[-1] if order else ""
        if not order:
            return False
        first = order.split(".")[0]
        try:
            column = self.list_display[int(first.lstrip("-"))]
        except (ValueError, IndexError):
            return None
        if column != self.model_admin.natural_column:
            return None
        return first.startswith("-")

    def get_results(self, request):
        super().get_results(request)
        descending = self.natural_direction()
        if descending is None:
            return
        school_field, name_field = self.model_admin.natural_fields
        rows = self.queryset.order_by().values_list("pk", school_field, name_field)
        ordered = sorted(
            rows, key=lambda row: (natural_key(row[1] or ""), natural_key(row[2] or "")), reverse=descending
        )
        pks = [row[0] for row in ordered]
        if not ((self.show_all and self.can_show_all) or not self.multi_page):
            start = (self.page_num - 1) * self.list_per_page
            pks = pks[start : start + self.list_per_page]
        position = Case(*[When(pk=pk, then=Value(index)) for index, pk in enumerate(pks)], output_field=IntegerField())
        self.result_list = self.queryset.filter(pk__in=pks).order_by(position) if pks else self.queryset.none()
