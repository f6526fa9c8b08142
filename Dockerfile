FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN apt-get update && apt-get install -y --no-install-recommends gettext && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY aftersales aftersales
COPY customers customers
COPY orders orders
COPY tickets tickets
RUN pip install ".[s3]"
COPY . .
# collectstatic needs settings; a throwaway key is fine at build time (not used at run time).
RUN SECRET_KEY=build-only DEBUG=false python manage.py collectstatic --noinput
# The desk runs as `desk`, not root. Its writable places are made here, owned by desk: /app/var (beat's
# schedule) and /app/var/media, where docker-compose mounts the named volume `media`. Docker fills a new,
# empty named volume from the image's directory, owner included, so uploads are writable by desk. (A
# volume created by an older image stays root-owned: once,
# `docker compose run --rm --no-deps --user root web chown -R desk:desk /app/var/media`.)
RUN useradd --create-home desk && mkdir -p /app/var/media && chown -R desk:desk /app/var
USER desk
EXPOSE 8000
# --timeout 120: a 100,000-row price-difference preview runs inside its upload request (~20 s measured).
# Threaded workers (GUNICORN_THREADS, 4): gunicorn reads /app/gunicorn.conf.py.
CMD ["gunicorn", "aftersales.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "120", "--access-logfile", "-"]
