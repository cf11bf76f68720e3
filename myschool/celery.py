"""The Celery application, configured from Django settings (``CELERY_*``).

Without ``REDIS_URL`` tasks run inline (``CELERY_TASK_ALWAYS_EAGER``), so the embedded
default needs no broker.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "myschool.settings")

app = Celery("myschool")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
