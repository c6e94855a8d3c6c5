"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py tformance.wsgi`.

Every value can be changed from the environment (see the README's
Configuration table). Sync workers: each request holds one worker, and each
worker keeps its own copy of the rollout flags (flags/store.py).
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# gunicorn's usual rule of thumb for sync workers.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"
# A request still running after this is killed (and logged) instead of holding the worker forever.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# On SIGTERM or a reload, workers finish the requests they hold for this long before they are stopped.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = 5
# Recycle workers now and then, staggered, so a slow leak cannot grow without bound.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = 200
accesslog = "-"
errorlog = "-"
