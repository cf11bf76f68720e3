"""Settings for the test suite: production settings with fast hashing and no outside effects.

The database still comes from ``DATABASE_URL`` (SQLite by default, PostgreSQL in CI).
"""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key-not-used-anywhere-else-0123456789abcdef")
os.environ.setdefault("DJANGO_DEBUG", "false")

from myschool.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SECURE_SSL_REDIRECT = False
# Tests that need Redis or a Celery broker say so themselves (tests/services.py).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CELERY_TASK_ALWAYS_EAGER = True
CELERY_BROKER_URL = "memory://"
