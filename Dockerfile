# The web bridge (student pages, example portal, probes) for production.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    UM_THEME_DIR=/app/themes/um-activation
WORKDIR /app

COPY pyproject.toml README.md ./
# The runtime package only: the dev tooling (devstack/, and aiosmtpd with it) is neither
# copied nor in the wheel (tests/unit/test_wheel.py).
COPY bridge ./bridge
# The compiled message catalogues (.mo), never committed, go into the package before it is
# installed; Babel compiles them (and stays: the bridge formats dates with it, docs/i18n.md).
COPY scripts/catalogue ./scripts/catalogue
RUN pip install --no-cache-dir "Babel>=2.18" \
 && PYTHON=python bash scripts/catalogue compile
# The scheduler (deploy/cron/crontab, docs/operations.md) runs this image's busybox crond:
# Debian's `busybox` package has no crond applet, `busybox-static` has; tzdata so that the
# crontab's hours are Europe/Paris's (TZ) and not silently UTC.
RUN apt-get update \
 && apt-get install -y --no-install-recommends busybox-static tzdata \
 && rm -rf /var/lib/apt/lists/*
# The jobs' user has a home (crond runs a job from it; the provisioning state lives there).
RUN pip install --no-cache-dir . \
 && useradd --system --uid 10001 --home-dir /var/lib/um-accounts --create-home bridge
# crond reads only a crontab owned by root, named after the user its lines run as.
COPY deploy/cron/crontab /etc/crontabs/bridge
# The stylesheet is the theme's own (one CSS source); compose mounts the same directory.
COPY themes ./themes

USER bridge
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --retries=3 \
  CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)" || exit 1
# Behind the reverse proxy that terminates TLS: its X-Forwarded-For is believed only from
# the addresses in UM_TRUSTED_PROXIES (docker-compose.yml sets the proxy's), never "*".
CMD ["bridge", "serve", "--host", "0.0.0.0", "--port", "8000"]
