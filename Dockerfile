# Berth's production image: gunicorn on PostgreSQL, configured only through the environment.
# BASE defaults to the public Python image; a local base (e.g. a debootstrap root with
# python3, imported with `docker import`) can stand in: --build-arg BASE=berth-base:local
ARG BASE=python:3.11-slim
FROM ${BASE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    BERTH_DATA_DIR=/var/lib/berth \
    STATIC_ROOT=/app/staticfiles \
    HOST=0.0.0.0 \
    PORT=8000

WORKDIR /app

# Dependencies in their own layer so code changes don't reinstall them.
COPY requirements.txt .
RUN python3 -m venv /venv \
    && /venv/bin/pip install --no-cache-dir -r requirements.txt
ENV PATH=/venv/bin:$PATH

COPY . .
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput \
    && useradd --system --uid 10001 --home-dir /var/lib/berth berth \
    && mkdir -p /var/lib/berth && chown berth /var/lib/berth

USER berth
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s CMD ["python3", "/app/config/healthcheck.py"]

# config/gunicorn.py: threaded workers, a timeout that covers the 10-minute upload window,
# sendfile for blob GETs; everything else through the environment (PORT, WEB_CONCURRENCY, ...).
CMD ["sh", "-c", "python manage.py migrate --noinput && exec gunicorn -c config/gunicorn.py config.wsgi"]
