#!/usr/bin/env bash
# Starts the desk on the embedded default: SQLite, demo data, Celery worker+beat without Redis,
# and the web server on $PORT. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
PORT=${PORT:-8000}
export DEBUG=${DEBUG:-true}
export DJANGO_SETTINGS_MODULE=aftersales.settings
VAR=${AFTERSALES_VAR_DIR:-var}
export AFTERSALES_VAR_DIR=$VAR
mkdir -p "$VAR/celery"

"$PY" manage.py migrate --noinput -v0
"$PY" manage.py seed_demo

"$PY" -m celery -A aftersales worker -B --concurrency=2 --loglevel=INFO \
  -s "$VAR/celery/celerybeat-schedule" >"$VAR/celery/worker.log" 2>&1 &
WORKER=$!
trap 'kill -TERM $WORKER 2>/dev/null; wait $WORKER 2>/dev/null || true' EXIT INT TERM

echo
echo "After-sales desk: http://127.0.0.1:$PORT/  (admin: /admin/, API: /api/docs/, health: /healthz)"
echo "Celery worker+beat running (log: $VAR/celery/worker.log)"
"$PY" manage.py runserver "0.0.0.0:$PORT" --noreload
