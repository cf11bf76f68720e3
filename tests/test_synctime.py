"""Times shown to people: sync zone (CET/CEST), labelled, one format."""

import datetime as dt

from myschool.synctime import next_nightly_run, next_publication_text, sync_time, sync_time_html

UTC = dt.timezone.utc


def test_sync_time_is_cet_in_winter_and_cest_in_summer():
    assert sync_time(dt.datetime(2026, 12, 1, 8, 30, tzinfo=UTC)) == "2026-12-01 09:30 CET"
    assert sync_time(dt.datetime(2026, 7, 1, 23, 30, tzinfo=UTC)) == "2026-07-02 01:30 CEST"
    assert sync_time(None) == "—"


def test_sync_time_html_keeps_the_date_and_the_time_each_whole():
    # Browsers break a narrow cell after a hyphen ("2026-12-" / "01"); each part is its own nowrap span.
    html = sync_time_html(dt.datetime(2026, 12, 1, 8, 30, tzinfo=UTC))
    assert html == '<span class="nowrap">2026-12-01</span> <span class="nowrap">09:30 CET</span>'
    assert sync_time_html(None) == "—"


def test_next_publication_is_tonight_midnight_in_the_sync_zone():
    now = dt.datetime(2026, 12, 1, 18, 0, tzinfo=UTC)  # 19:00 CET
    assert next_nightly_run(now) == dt.datetime(2026, 12, 1, 23, 0, tzinfo=UTC)
    assert next_publication_text(now) == "tonight 00:00 CET (in 5 h)"
    assert next_publication_text(dt.datetime(2026, 12, 1, 22, 20, tzinfo=UTC)) == "tonight 00:00 CET (in 40 min)"
