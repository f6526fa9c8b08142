"""gunicorn's settings for every way the desk is served (gunicorn reads ./gunicorn.conf.py from its working
directory: the image's /app, `make run`, the bench); the command line still sets the bind and the workers.

Threaded workers: a request spends much of its time waiting on PostgreSQL and Redis (the intake webhook
about half), and a sync worker's core sits idle meanwhile; with threads the same processes answer several
requests at once. Each thread keeps its own database connection (CONN_MAX_AGE): workers x threads
connections per replica (PgBouncer in docker-compose).
"""

import os

worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
if threads < 1:
    raise ValueError("GUNICORN_THREADS must be at least 1.")
