"""The mass-edit formset: one form per listed person, each row validated and saved on its own.

Django's ``list_editable`` saves a page all or nothing. Here every row is checked by
:class:`~myschool.emails.rules.EmailRules` against the database *and the other rows of the same
POST* (so two emails can be swapped in one save), valid changed rows are saved as one batch and
invalid rows keep their input and show why.
"""

from __future__ import annotations

from django import forms
from django.forms import BaseFormSet, formset_factory

from myschool.models import EmailChangeBatch, EmailChangeKind, School

from .people import Person, PersonKey, people_by_key
from .rules import EmailRules
from .services import primary_emails_change
from .tenant import email_syntax_error, normalize_email

MAX_ROWS = 500


class PrimaryEmailForm(forms.Form):
    """One person (``person`` is a :class:`~myschool.emails.people.PersonKey` such as ``student:12``) and their email."""

    person = forms.CharField(widget=forms.HiddenInput)
    primary_email = forms.CharField(
        required=False, max_length=254, widget=forms.EmailInput(attrs={"size": 36, "autocomplete": "off"})
    )

    def clean_person(self) -> PersonKey:
        try:
            return PersonKey.parse(self.cleaned_data["person"])
        except ValueError:
            raise forms.ValidationError("Unknown person.") from None

    def clean_primary_email(self) -> str:
        email = normalize_email(self.cleaned_data["primary_email"])
        if email and (reason := email_syntax_error(email)):
            raise forms.ValidationError(reason)
        return email


class BasePrimaryEmailFormSet(BaseFormSet):
    """Validates the rows of ``school`` together; after ``is_valid()``, :meth:`save` keeps every valid row.

    ``people`` (after validation) maps each submitted person of the school to their current row;
    a person of another school, however crafted the POST, is an "Unknown person" error.
    """

    def __init__(self, *args, school: School, rules: EmailRules | None = None, **kwargs):
        self.school = school
        self.rules = rules or EmailRules(school)
        self.people: dict[PersonKey, Person] = {}
        self.changes: dict[PersonKey, str] = {}
        super().__init__(*args, **kwargs)

    def clean(self) -> None:
        rows = [form for form in self.forms if "person" in getattr(form, "cleaned_data", {})]
        self.people = people_by_key(school_id=self.school.pk, keys=[form.cleaned_data["person"] for form in rows])
        proposed: dict[PersonKey, str] = {}
        forms_by_key: dict[PersonKey, PrimaryEmailForm] = {}
        for form in rows:
            key = form.cleaned_data["person"]
            if key not in self.people:
                form.add_error(None, "Unknown person.")
            elif key in forms_by_key:
                form.add_error(None, "This person is listed twice.")
            elif "primary_email" in form.cleaned_data:
                forms_by_key[key] = form
                if form.cleaned_data["primary_email"] != self.people[key].email:
                    proposed[key] = form.cleaned_data["primary_email"]
        labels = {key: str(person) for key, person in self.people.items()}
        errors = self.rules.check(proposed, labels=labels)
        for key, reason in errors.items():
            forms_by_key[key].add_error("primary_email", reason)
        self.changes = {key: email for key, email in proposed.items() if key not in errors}

    def save(self, *, user) -> EmailChangeBatch | None:
        """Save the valid changed rows as one mass-edit batch (None when none changed). Call after ``is_valid()``."""
        return primary_emails_change(
            school=self.school, changes=self.changes, user=user, kind=EmailChangeKind.MASS_EDIT
        )

    @property
    def rejected_count(self) -> int:
        return sum(1 for form in self.forms if form.errors)


PrimaryEmailFormSet = formset_factory(
    PrimaryEmailForm,
    formset=BasePrimaryEmailFormSet,
    extra=0,
    max_num=MAX_ROWS,
    absolute_max=MAX_ROWS,
    validate_max=True,
)
