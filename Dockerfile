# Berth's production image: gunicorn on PostgreSQL, configured only through the environment.
# BASE defaults to the public Python image; a local base (e.g. a debootstrap root with
# python3, imported with `docker import`) can stand in: --build-arg BASE=berth-base:local
ARG BASE=python:3.11-slim
FROM ${BASE}

# pip's own settings, for builds that reach PyPI through a mirror or a TLS-inspecting proxy:
# e.g. --build-arg PIP_INDEX_URL=https://pypi.example/simple, or PIP_CERT=<CA bundle path inside
# the base>. Build arguments only (visible in `docker history`, so no passwords in URLs); the
# running image never sees them.
ARG PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_TRUSTED_HOST PIP_CERT PIP_DEFAULT_TIMEOUT

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/venv/bin:$PATH \
    BERTH_DATA_DIR=/var/lib/berth \
    STATIC_ROOT=/app/staticfiles \
    HOST=0.0.0.0 \
    PORT=8000
WORKDIR /app

# The image's metadata comes before its big layers: on storage drivers without copy-on-write
# (vfs, as in the tests where overlay is unavailable) every instruction after them would copy the whole
# filesystem again.
EXPOSE 8000
# /-/ready: the database and blob storage are reachable (config/healthcheck.py).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s CMD ["python3", "/app/config/healthcheck.py"]
# config/gunicorn.py: threaded workers, a timeout that covers the 10-minute upload window,
# sendfile for blob GETs; everything else through the environment (PORT, WEB_CONCURRENCY, ...).
# manage.py worker (webhook deliveries, the download-count fold) runs beside gunicorn; its jobs are
# transactions, so one cut short when the container stops is run again by the next worker.
CMD ["sh", "-c", "python manage.py migrate --noinput || exit 1; python manage.py worker & exec gunicorn -c config/gunicorn.py config.wsgi"]

RUN useradd --system --uid 10001 --home-dir /var/lib/berth berth \
    && mkdir -p /var/lib/berth && chown berth /var/lib/berth

# Runtime dependencies only (requirements.txt; the test tools are in requirements-dev.txt),
# in their own layer so code changes don't reinstall them.
COPY requirements.txt .
RUN python3 -m venv /venv \
    && /venv/bin/pip install --no-cache-dir --disable-pip-version-check -r requirements.txt

COPY . .
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput
USER berth
