"""The client's address behind ``DJANGO_TRUSTED_PROXIES`` reverse proxies (myschool.clientip)."""

from __future__ import annotations

import pytest

from myschool.clientip import client_ip_from_meta

PROXY = "127.0.0.1"


@pytest.mark.parametrize(
    ("proxies", "forwarded_for", "expected"),
    [
        (0, None, PROXY),
        (0, "203.0.113.7", PROXY),  # no proxy trusted: the header is the client's own claim
        (1, "203.0.113.7", "203.0.113.7"),
        (1, "6.6.6.6, 203.0.113.7", "203.0.113.7"),  # the client wrote 6.6.6.6; the proxy appended the real one
        (2, "203.0.113.7, 10.0.0.2", "203.0.113.7"),  # load balancer → nginx → app
        (2, "6.6.6.6,203.0.113.7,10.0.0.2", "203.0.113.7"),
        (1, None, PROXY),  # did not pass the proxy
        (2, "203.0.113.7", PROXY),  # shorter than the proxy chain
        (1, "203.0.113.7:4711", "203.0.113.7"),
        (1, "[2001:db8::1]:4711", "2001:db8::1"),
        (1, "2001:db8::1", "2001:db8::1"),
        (1, "unknown", PROXY),
        (1, "", PROXY),
    ],
)
def test_the_client_is_the_entry_the_last_trusted_proxy_appended(settings, proxies, forwarded_for, expected):
    settings.TRUSTED_PROXIES = proxies
    meta = {"REMOTE_ADDR": PROXY}
    if forwarded_for is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded_for
    assert client_ip_from_meta(meta) == expected


def test_without_any_address_the_client_is_unknown(settings):
    settings.TRUSTED_PROXIES = 1
    assert client_ip_from_meta({}) == ""
