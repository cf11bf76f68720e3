"""The canonical JSON behind every content hash: ``orjson`` gives byte for byte the stdlib definition.

The stored hashes were made with ``json.dumps(payload, sort_keys=True, separators=(",", ":"),
ensure_ascii=False)``; the publication now writes that text with ``orjson`` (issue 19, first
publication faster). A different byte would change every hash and make the next run rewrite
(and restamp) every object, so it is checked on everything the sample data publishes and on
awkward strings.
"""

from __future__ import annotations

import hashlib
import json

import pytest
from django.conf import settings
from django.db import connection

from lis.models import ClassSelection, CourseSelection, PublishedObject, RunStatus, SchoolSyncSettings
from lis.publication import publish_school
from lis.publication.collect import SchoolData
from lis.publication.mapping import PublishedRecord, canonical_json
from myschool import models as m
from myschool.demo import demo_school_create
from myschool.oneroster_csv import import_oneroster_csv

pytestmark = pytest.mark.django_db


def stdlib_canonical(payload) -> bytes:
    """The definition the stored hashes were made with (before orjson)."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sample_schools() -> list[m.School]:
    """The Contoso sample roster and a generated demo school (with demographics), every group ticked."""
    import_oneroster_csv(settings.SAMPLE_ROSTER)
    demo_school_create(students=60, teachers=6, seed=3, school_code="CANON")
    schools = list(m.School.objects.order_by("pk"))
    for school in schools:
        SchoolSyncSettings.objects.update_or_create(school=school, defaults={"should_sync": True, "share_demographics": True})
    for selection, model, field in ((CourseSelection, m.Course, "course"), (ClassSelection, m.SchoolClass, "school_class")):
        selection.objects.update(sync=True)
        ticked = selection.objects.values(f"{field}_id")
        selection.objects.bulk_create([selection(**{field: row}, sync=True) for row in model.objects.exclude(pk__in=ticked)])
    return schools


def test_canonical_json_is_the_stdlib_definition_on_the_sample_data():
    kinds: dict[str, int] = {}
    for school in sample_schools():
        school = m.School.objects.select_related("active_year", "group", "sync_settings").get(pk=school.pk)
        for kind, records in SchoolData(school).records():
            for record in records:
                expected = stdlib_canonical(record.payload)
                assert canonical_json(record.payload) == expected, (kind, record.sourced_id)
                assert record.content_hash == hashlib.sha256(expected).hexdigest()
                kinds[kind] = kinds.get(kind, 0) + 1
    assert set(kinds) == {"org", "academicSession", "course", "class", "user", "enrollment", "demographics"}
    assert sum(kinds.values()) > 500


def test_the_store_keeps_the_same_payloads_and_hashes():
    """What the store holds after a run: payloads equal to the records', hashes of the stdlib canonical text."""
    schools = sample_schools()
    for school in schools:
        assert publish_school(school).status == RunStatus.SUCCEEDED
    stored = PublishedObject.objects.filter(status="active")
    assert stored.count() > 500
    for payload, content_hash in stored.values_list("payload", "content_hash"):
        assert content_hash == hashlib.sha256(stdlib_canonical(payload)).hexdigest()
    if connection.vendor == "sqlite":  # SQLite keeps the text as given and the API serves it: Django's JSONField text
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT payload FROM {PublishedObject._meta.db_table} WHERE status = 'active'")
            for (text,) in cursor.fetchall():
                assert text == json.dumps(json.loads(text))
    # A second run finds every hash equal: nothing is rewritten.
    for school in schools:
        counts = publish_school(school).counts()
        assert all(c["created"] == c["updated"] == c["deleted"] == 0 for c in counts.values()), counts


AWKWARD = [
    "",
    "plain ascii",
    'quote " backslash \\ slash /',
    "\x00\x01\x07\x08\t\n\x0b\x0c\r\x1b\x1f \x7f\x80\x9f",
    "Zoë Ångström-Łukasiewicz Øre ß ı İ",
    "日本語 中文 한국어 العربية עברית",
    "emoji 😀👩‍👩‍👧 flags 🇳🇱 astral 𝄞",
    "line\u2028paragraph\u2029bom\ufeffnbsp\u00a0zwj\u200d",
    "</script><!-- & ' \" -->",
    "\ud7ff\ue000\uffff",
]


@pytest.mark.parametrize("text", AWKWARD)
def test_canonical_json_of_awkward_strings(text):
    payload = {
        "name": text,
        text or "empty": [text, {"z": text, "a": None, text: True}],
        "nested": {"b": [], "a": {}, "c": [False, True, None, 0, -7, 2**53]},
        "é": 1, "e": 2, "E": 3, "_": 4, "~": 5, "ÿ": 6, "ā": 7, "😀": 8,
    }
    assert canonical_json(payload) == stdlib_canonical(payload)


def test_canonical_json_of_every_bmp_character():
    chars = [chr(c) for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF]
    for start in range(0, len(chars), 4096):
        payload = {"s": "".join(chars[start : start + 4096]), "keys": dict.fromkeys(chars[start : start + 256], 1)}
        assert canonical_json(payload) == stdlib_canonical(payload)


def test_a_record_serialises_its_payload_once():
    record = PublishedRecord("org", "org-1", {"name": "Zoë", "type": "school"})
    assert record.canonical == '{"name":"Zoë","type":"school"}'.encode()
    assert record.content_hash == hashlib.sha256(record.canonical).hexdigest()
    assert record.canonical is record.canonical
