"""WSGI entry point (gunicorn myschool.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "myschool.settings")
application = get_wsgi_application()
