"""The *Primary emails* pages: mass edit, CSV bulk update and generation from a pattern.

They hang off the :class:`~myschool.models.PrimaryEmail` proxy so the admin lists them under
*School* and guards them with its permissions: ``view_primaryemail`` to look,
``change_primaryemail`` to change (school administrators and support, by migration). A school
administrator works on their own school; support picks one (``?school=<id>``). Each page only
validates input, calls one :mod:`myschool.emails` function and renders.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from .. import emails
from ..csv_reader import MB, csv_setting
from ..emails.massedit import PrimaryEmailFormSet
from ..emails.people import PersonKey, people_by_key, person_from_dict
from ..models import EmailChangeBatch, PrimaryEmail, School, Status
from ..scoping import scope_to_user, sees_all_schools, staff_school_id
from .base import SchoolScopedAdmin, may_view_on_site

MASS_EDIT_TEMPLATE = "admin/myschool/primaryemail/mass_edit.html"
UPLOAD_TEMPLATE = "admin/myschool/primaryemail/upload.html"
GENERATE_TEMPLATE = "admin/myschool/primaryemail/generate.html"
UPLOAD_SALT = "myschool.emails.upload"
UPLOAD_MAX_AGE = 3600  # seconds a previewed file may wait for "apply"
FILTERS = {
    "role": ("role", [(role.value, role.label + "s") for role in emails.PersonRole]),
    "problem": ("problem", emails.Problem.choices),
    "status": ("status", [("active", "Active"), ("left", "Left"), ("all", "All")]),
}


class UploadForm(forms.Form):
    file = forms.FileField(help_text="CSV, UTF-8, with a header row: number (or username), email, optionally role.")


def proposed_domain(school: School) -> str:
    """The domain "Generate from a pattern" proposes: the one most of the school's people already use.

    Among the used domains, one registered for the school's Microsoft tenant wins; with no email
    yet, the tenant's first domain; with neither, ``school.example``.
    """
    registered = emails.email_tenant(school).domains
    used = [domain for domain, _ in emails.email_domains(school) if domain]
    for domain in used:
        if domain in registered:
            return domain
    if used:
        return used[0]
    return min(registered) if registered else "school.example"


class PatternForm(forms.Form):
    pattern = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"size": 50}))
    role = forms.ChoiceField(choices=[("", "Students and teachers"), *emails.PersonRole.choices], required=False)

    def clean_pattern(self) -> str:
        emails.pattern_validate(self.cleaned_data["pattern"])
        return self.cleaned_data["pattern"].strip()


@admin.register(PrimaryEmail)
class PrimaryEmailAdmin(SchoolScopedAdmin):
    """Primary emails of a school's students and teachers (see the module docstring)."""

    list_per_page = 50

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("", wrap(self.changelist_view), name="myschool_primaryemail_changelist"),
            path("upload/", wrap(self.upload_view), name="myschool_primaryemail_upload"),
            path("generate/", wrap(self.generate_view), name="myschool_primaryemail_generate"),
        ]

    # --- shared --------------------------------------------------------------------------
    def chosen_school(self, request) -> School | None:
        """The administrator's own school, or the one support chose with ``?school=`` (None if none)."""
        if sees_all_schools(request.user):
            raw = request.POST.get("school") or request.GET.get("school") or ""
            school_id = int(raw) if raw.isdigit() else None
        else:
            school_id = staff_school_id(request.user)
        if school_id is None:
            return None
        return scope_to_user(School.objects.filter(pk=school_id), request.user).first()

    def page_context(self, request, school: School | None, title: str, **extra) -> dict:
        query = f"?school={school.pk}" if school and sees_all_schools(request.user) else ""
        links = [
            ("Mass edit", reverse("admin:myschool_primaryemail_changelist") + query),
            ("Upload CSV", reverse("admin:myschool_primaryemail_upload") + query),
            ("Generate from a pattern", reverse("admin:myschool_primaryemail_generate") + query),
        ]
        if may_view_on_site(self.admin_site, EmailChangeBatch, request):
            history_query = f"?school__id__exact={school.pk}" if query else ""
            links.append(("History", reverse("admin:myschool_emailchangebatch_changelist") + history_query))
        chooser = None
        if sees_all_schools(request.user):
            chooser = list(School.objects.order_by("name").values_list("pk", "name"))
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "school": school,
            "schools": chooser,
            "page_links": links,
            "may_change": self.has_change_permission(request),
            **extra,
        }

    def require(self, request, *, change: bool) -> School | None:
        allowed = self.has_change_permission(request) if change else self.has_view_or_change_permission(request)
        if not allowed:
            raise PermissionDenied
        return self.chosen_school(request)

    # --- mass edit -------------------------------------------------------------------------
    def changelist_view(self, request, extra_context=None):
        school = self.require(request, change=request.method == "POST")
        if school is None:
            return TemplateResponse(request, MASS_EDIT_TEMPLATE, self.page_context(request, None, "Primary emails"))
        problems = emails.email_problems(school)
        if request.method == "POST":
            formset = PrimaryEmailFormSet(
                request.POST, school=school, rules=emails.EmailRules(school, tenant=problems.tenant)
            )
            if formset.management_form.errors or formset.non_form_errors():
                raise PermissionDenied  # a tampered management form or row count, not a user's mistake
            if self.save_rows(request, formset):
                return HttpResponseRedirect(request.get_full_path())
            problems = emails.email_problems(school, tenant=problems.tenant)  # after the save
            # Read the people again: a saved row shows its new email and flags, not the ones before the save.
            fresh = people_by_key(school_id=school.pk, keys=list(formset.people))
            rows, page = [(form, fresh.get(_key(form))) for form in formset.forms], None
        else:
            page = self.page_of_rows(request, problems)
            people = [person_from_dict(row) for row in page]
            initial = [{"person": str(person.key), "primary_email": person.email} for person in people]
            formset = PrimaryEmailFormSet(initial=initial, school=school)
            rows = list(zip(formset.forms, people, strict=True))
        context = self.page_context(
            request,
            school,
            f"Primary emails of {school.name}",
            formset=formset,
            rows=[(form, person, _flags(problems, person)) for form, person in rows],
            page=page,
            filters=self.filter_links(request),
            search=request.GET.get("q", ""),
            domains=sorted(problems.tenant.domains),
        )
        return TemplateResponse(request, MASS_EDIT_TEMPLATE, context)

    def save_rows(self, request, formset) -> bool:
        """Validate ``formset``, save its valid changed rows, say so; True when no row was refused."""
        formset.is_valid()
        try:
            saved = len(formset.changes) if formset.save(user=request.user) else 0
        except emails.EmailChangeRefused as exc:  # the data changed between the check and the save
            self.message_user(request, str(exc), messages.ERROR)
            return False
        if not formset.rejected_count:
            self.message_user(request, f"{saved} primary email(s) saved.", messages.SUCCESS)
            return True
        text = f"{saved} primary email(s) saved; {formset.rejected_count} row(s) need correcting."
        self.message_user(request, text, messages.WARNING)
        return False

    def page_of_rows(self, request, problems: emails.EmailProblems):
        """The requested page of ``people_rows`` per the GET filters (unknown values are ignored)."""
        get = request.GET
        role = get.get("role") if get.get("role") in emails.PersonRole.values else None
        problem = get.get("problem") if get.get("problem") in emails.Problem.values else None
        status = get.get("status", Status.ACTIVE)
        status = None if status == "all" else status if status in Status.values else Status.ACTIVE
        rows = emails.people_rows(problems=problems, role=role, problem=problem, status=status, search=get.get("q", ""))
        return Paginator(rows, self.list_per_page).get_page(get.get("page"))

    def filter_links(self, request) -> list[tuple[str, list[tuple[str, str, bool]]]]:
        """[(title, [(label, query string, selected)])] for the filter sidebar."""
        filters = []
        for param, (title, choices) in FILTERS.items():
            current = request.GET.get(param, "active" if param == "status" else "")
            options = []
            for value, label in choices if param == "status" else [("", "All"), *choices]:
                query = request.GET.copy()
                query.pop("page", None)
                query.pop(param, None)
                if value:
                    query[param] = value
                options.append((label, "?" + query.urlencode(), current == value))
            filters.append((title, options))
        return filters

    # --- CSV upload --------------------------------------------------------------------------
    def upload_view(self, request):
        school = self.require(request, change=request.method == "POST")
        context = {"form": UploadForm()}
        if school is not None and request.method == "POST":
            if "_apply" not in request.POST:
                self.upload_preview(request, school, context)
            elif response := self.upload_apply(request, school, context):
                return response
        title = f"Upload primary emails for {school.name}" if school else "Upload primary emails"
        return TemplateResponse(request, UPLOAD_TEMPLATE, self.page_context(request, school, title, **context))

    def upload_preview(self, request, school: School, context: dict) -> None:
        """Read the uploaded file into ``context``: its preview and the signed payload to apply it."""
        form = context["form"] = UploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return
        upload = form.cleaned_data["file"]
        try:
            if upload.size > csv_setting("MAX_UPLOAD_MB") * MB:
                raise emails.BulkFileError(f"The file is larger than {csv_setting('MAX_UPLOAD_MB')} MB.")
            text = emails.decode_upload(upload.read())
            preview = emails.bulk_preview(school=school, text=text, user=request.user)
        except emails.BulkFileError as exc:
            form.add_error("file", str(exc))
            return
        payload = {"school": school.pk, "text": text, "name": upload.name[:200]}
        context.update(
            preview=preview, payload=signing.dumps(payload, salt=UPLOAD_SALT, compress=True), file_name=upload.name
        )

    def upload_apply(self, request, school: School, context: dict):
        """Apply a previewed file (previewed again here); a redirect, or None to show the new preview."""
        try:
            payload = signing.loads(request.POST.get("payload", ""), salt=UPLOAD_SALT, max_age=UPLOAD_MAX_AGE)
        except signing.BadSignature:
            self.message_user(request, "The preview expired or was altered; upload the file again.", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
        if payload["school"] != school.pk:
            raise PermissionDenied
        try:
            preview, batch = emails.bulk_apply(
                school=school, text=payload["text"], user=request.user, note=payload["name"]
            )
        except emails.EmailChangeRefused as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
        if batch is None:
            context.update(preview=preview, payload=request.POST["payload"], file_name=payload["name"])
            return None
        self.message_user(
            request, f"{len(preview.changes)} primary email(s) changed from {payload['name']}.", messages.SUCCESS
        )
        return HttpResponseRedirect(reverse("admin:myschool_emailchangebatch_change", args=[batch.pk]))

    # --- pattern ---------------------------------------------------------------------------------
    def generate_view(self, request):
        school = self.require(request, change=request.method == "POST")
        context = {}
        if school is not None:
            initial = {"pattern": "{given}.{family}@" + proposed_domain(school)}
            form = context["form"] = PatternForm(request.POST or None, initial=initial)
            if request.method == "POST" and form.is_valid():
                pattern, role = form.cleaned_data["pattern"], form.cleaned_data["role"] or None
                if "_apply" in request.POST and (response := self.generate_apply(request, school, pattern, role)):
                    return response
                context["preview"] = emails.pattern_preview(
                    school=school, pattern=pattern, role=role, user=request.user
                )
        title = f"Generate primary emails for {school.name}" if school else "Generate primary emails"
        return TemplateResponse(request, GENERATE_TEMPLATE, self.page_context(request, school, title, **context))

    def generate_apply(self, request, school: School, pattern: str, role: str | None):
        """Apply the pattern; a redirect to the new batch, or None (with a message) when nothing was applied."""
        try:
            preview, batch = emails.pattern_apply(school=school, pattern=pattern, role=role, user=request.user)
        except emails.EmailChangeRefused as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return None
        if batch is None:
            self.message_user(request, preview.limit_error or "Nothing to generate.", messages.WARNING)
            return None
        self.message_user(request, f"{len(preview.generated)} primary email(s) generated.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:myschool_emailchangebatch_change", args=[batch.pk]))


def _key(form) -> PersonKey | None:
    try:
        return PersonKey.parse(form["person"].value())
    except ValueError:
        return None


def _flags(problems: emails.EmailProblems, person: emails.Person | None) -> list[str]:
    """The labels of the problems shown next to ``person``'s row."""
    if person is None:
        return []
    return [emails.Problem(flag).label for flag in problems.flags(person.email, person.username)]
