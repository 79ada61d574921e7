# syntax=docker/dockerfile:1
#
# One image per clientpulse service, all from this file:
#
#   docker build --target clients -t clientpulse/clients .
#   (targets: gateway, clients, tiering, results-ingest, insights, notifications, web; the default,
#   last stage is the gateway)
#
# Each image holds only a virtual environment with the service's distribution, clientpulse-shared
# and their locked dependencies (from uv.lock, never re-resolved), installed as regular wheels: no
# source tree, no uv, no build tools. It runs as uid 10001 and writes nothing outside /tmp, so it
# runs with a read-only root filesystem (mount a tmpfs on /tmp).
#
# The platform sandbox (services/platform-sandbox, imitations of the ad platforms' APIs) is a
# development tool: only its pyproject.toml is copied, as workspace metadata; no image installs it.

ARG PYTHON_IMAGE=python:3.12-slim

# ---------------------------------------------------------------------------------------------
# Builder: uv plus the workspace metadata (every member's pyproject.toml and the lockfile), so the
# dependency layers below stay cached until a pyproject.toml or uv.lock changes.
# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS build-base

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=python3.12 \
    UV_PROJECT_ENVIRONMENT=/app/.venv

RUN pip install uv==0.13.9

WORKDIR /app
COPY pyproject.toml uv.lock ./
COPY shared/pyproject.toml shared/
COPY services/gateway/pyproject.toml services/gateway/
COPY services/clients/pyproject.toml services/clients/
COPY services/tiering/pyproject.toml services/tiering/
COPY services/results-ingest/pyproject.toml services/results-ingest/
COPY services/insights/pyproject.toml services/insights/
COPY services/notifications/pyproject.toml services/notifications/
COPY services/platform-sandbox/pyproject.toml services/platform-sandbox/
COPY services/web/pyproject.toml services/web/

# Per service: first the third-party dependencies alone (--no-install-workspace rather than
# --no-install-project, because the service's own dependency clientpulse-shared is a workspace member
# whose sources are not copied yet), then the sources of shared/ and the service, and a second sync
# that only adds the two workspace wheels (--no-editable: the venv must not point back at /app).

FROM build-base AS build-gateway
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --no-install-workspace --package clientpulse-gateway
COPY shared shared
COPY services/gateway services/gateway
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package clientpulse-gateway

FROM build-base AS build-clients
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --no-install-workspace --package clientpulse-clients
COPY shared shared
COPY services/clients services/clients
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package clientpulse-clients

FROM build-base AS build-tiering
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --no-install-workspace --package clientpulse-tiering
COPY shared shared
COPY services/tiering services/tiering
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package clientpulse-tiering

FROM build-base AS build-results-ingest
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --no-install-workspace --package clientpulse-results-ingest
COPY shared shared
COPY services/results-ingest services/results-ingest
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package clientpulse-results-ingest

FROM build-base AS build-insights
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --no-install-workspace --package clientpulse-insights
COPY shared shared
COPY services/insights services/insights
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package clientpulse-insights

FROM build-base AS build-notifications
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --no-install-workspace --package clientpulse-notifications
COPY shared shared
COPY services/notifications services/notifications
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package clientpulse-notifications

FROM build-base AS build-web
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --no-install-workspace --package clientpulse-web
COPY shared shared
COPY services/web services/web
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package clientpulse-web

# ---------------------------------------------------------------------------------------------
# Runtime base: the same Python image (the venv's interpreter link points at
# /usr/local/bin/python3.12), an unprivileged user without a login shell, and an environment that
# sends every runtime write to /tmp.
# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

RUN groupadd --system --gid 10001 clientpulse \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin clientpulse

# PYTHONDONTWRITEBYTECODE: the bytecode was compiled at build time; nothing is written next to it.
# CLIENTPULSE_VAR_DIR: where the embedded-mode fallbacks (a SQLite file when no database URL is
# set) would write; under /tmp so a read-only root filesystem never breaks a start.
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp \
    TMPDIR=/tmp \
    CLIENTPULSE_VAR_DIR=/tmp/clientpulse

WORKDIR /app

# ---------------------------------------------------------------------------------------------
# One runtime stage per service (the build targets). The venv stays owned by root: read-only to
# the service user.
# ---------------------------------------------------------------------------------------------
FROM runtime AS clients
LABEL org.opencontainers.image.title="clientpulse-clients" \
      org.opencontainers.image.description="clientpulse clients service"
COPY --from=build-clients /app/.venv /app/.venv
EXPOSE 8001
USER 10001:10001
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.build_opener(u.ProxyHandler({})).open('http://127.0.0.1:8001/healthz', timeout=2)"]
ENTRYPOINT ["clientpulse-clients"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8001"]

FROM runtime AS tiering
LABEL org.opencontainers.image.title="clientpulse-tiering" \
      org.opencontainers.image.description="clientpulse tiering service"
COPY --from=build-tiering /app/.venv /app/.venv
EXPOSE 8002
USER 10001:10001
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.build_opener(u.ProxyHandler({})).open('http://127.0.0.1:8002/healthz', timeout=2)"]
ENTRYPOINT ["clientpulse-tiering"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8002"]

FROM runtime AS results-ingest
LABEL org.opencontainers.image.title="clientpulse-results-ingest" \
      org.opencontainers.image.description="clientpulse results-ingest service"
COPY --from=build-results-ingest /app/.venv /app/.venv
EXPOSE 8003
USER 10001:10001
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.build_opener(u.ProxyHandler({})).open('http://127.0.0.1:8003/healthz', timeout=2)"]
ENTRYPOINT ["clientpulse-results-ingest"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8003"]

FROM runtime AS insights
LABEL org.opencontainers.image.title="clientpulse-insights" \
      org.opencontainers.image.description="clientpulse insights service"
COPY --from=build-insights /app/.venv /app/.venv
EXPOSE 8004
USER 10001:10001
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.build_opener(u.ProxyHandler({})).open('http://127.0.0.1:8004/healthz', timeout=2)"]
ENTRYPOINT ["clientpulse-insights"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8004"]

FROM runtime AS notifications
LABEL org.opencontainers.image.title="clientpulse-notifications" \
      org.opencontainers.image.description="clientpulse notifications service"
COPY --from=build-notifications /app/.venv /app/.venv
EXPOSE 8005
USER 10001:10001
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.build_opener(u.ProxyHandler({})).open('http://127.0.0.1:8005/healthz', timeout=2)"]
ENTRYPOINT ["clientpulse-notifications"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8005"]

FROM runtime AS web
LABEL org.opencontainers.image.title="clientpulse-web" \
      org.opencontainers.image.description="clientpulse web console"
COPY --from=build-web /app/.venv /app/.venv
EXPOSE 8080
USER 10001:10001
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.build_opener(u.ProxyHandler({})).open('http://127.0.0.1:8080/healthz', timeout=2)"]
ENTRYPOINT ["clientpulse-web"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8080"]

# Last, so a plain `docker build .` produces the gateway.
FROM runtime AS gateway
LABEL org.opencontainers.image.title="clientpulse-gateway" \
      org.opencontainers.image.description="clientpulse HTTP gateway"
COPY --from=build-gateway /app/.venv /app/.venv
EXPOSE 8000
USER 10001:10001
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.build_opener(u.ProxyHandler({})).open('http://127.0.0.1:8000/healthz', timeout=2)"]
ENTRYPOINT ["clientpulse-gateway"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
