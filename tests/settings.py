"""Settings for the test suite: production settings with fast hashing and no outside effects.

The database still comes from ``DATABASE_URL`` (SQLite by default, PostgreSQL in CI).
"""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key-not-used-anywhere-else-0123456789abcdef")
os.environ.setdefault("DJANGO_DEBUG", "false")

from myschool.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
EMAIL_UNDELIVERED_BACKEND_ALLOWED = True  # the outbox is what tests read (myschool.E001 otherwise refuses it)
SECURE_SSL_REDIRECT = False
# Tests that need Redis or a Celery broker say so themselves (tests/services.py).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Tasks run inline unless a test starts a worker (tests/lis/test_tasks.py), which consumes from this Redis.
CELERY_TASK_ALWAYS_EAGER = True
CELERY_BROKER_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

# SQLite tests use a file, like the embedded default: threads and the live server then share
# one database with real locking (an in-memory database would use shared-cache table locks).
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    import tempfile

    DATABASES["default"]["TEST"] = {"NAME": os.path.join(tempfile.gettempdir(), f"myschool-test-{os.getpid()}.sqlite3")}
