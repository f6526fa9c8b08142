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
mkdir -p "$VAR/celery/out" "$VAR/celery/control" "$VAR/celery/processed"

"$PY" manage.py migrate --noinput -v0
"$PY" manage.py seed_demo

# The worker runs in its own session: a Ctrl-C or group SIGTERM aimed at this script must reach only
# the worker's main process, which then stops its pool children itself (signalling the children
# directly leaves a warm shutdown hanging).
PIDFILE="$VAR/celery/worker.pid"
rm -f "$PIDFILE"
setsid "$PY" -m celery -A aftersales worker -B --concurrency=2 --loglevel=INFO \
  --pidfile="$PIDFILE" -s "$VAR/celery/celerybeat-schedule" >"$VAR/celery/worker.log" 2>&1 &
stop_worker() {
  if [ -f "$PIDFILE" ]; then
    kill -TERM "$(cat "$PIDFILE")" 2>/dev/null || true
    for _ in $(seq 30); do [ -f "$PIDFILE" ] || break; sleep 1; done
    [ -f "$PIDFILE" ] && kill -KILL "$(cat "$PIDFILE")" 2>/dev/null
  fi
  return 0
}
trap stop_worker EXIT
trap 'exit 130' INT TERM

echo
echo "After-sales desk: http://127.0.0.1:$PORT/  (admin: /admin/, API: /api/docs/, health: /healthz)"
echo "Celery worker+beat running (log: $VAR/celery/worker.log)"
# gunicorn with threads rather than runserver: runserver answers a kept-alive connection's second request
# ~40 ms late (each response goes out in pieces that wait on the browser's delayed ACK); DEBUG serves the
# static files through WhiteNoise's finders. Threaded workers: gunicorn.conf.py (GUNICORN_THREADS).
"$PY" -m gunicorn aftersales.wsgi --bind "0.0.0.0:$PORT" --workers 2 --access-logfile - --graceful-timeout 5
