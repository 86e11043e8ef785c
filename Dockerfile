# syntax=docker/dockerfile:1
# One image for every Kommunepuls service; the command picks the service:
#   docker run kommunepuls serve ingest|cohorts|metrics|gateway
#   docker run kommunepuls migrate
# Configuration is by environment variables only (kommunepuls.config.Settings).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- builder: a self-contained virtualenv with the pinned deps and the project wheel ---
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

# A compiler only for the rare dependency without a wheel; this stage is thrown away.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*

RUN python -m venv /opt/venv
ENV PATH="/opt/venv/bin:${PATH}"

WORKDIR /src
# Dependencies first: this layer is reused until requirements.lock changes.
COPY requirements.lock ./
RUN pip install -r requirements.lock

COPY pyproject.toml README.md ./
COPY kommunepuls ./kommunepuls
COPY services ./services
RUN pip wheel --no-deps --wheel-dir /dist . \
 && pip install --no-deps /dist/*.whl \
 && python -m compileall -q /opt/venv

# --- runtime: slim Python, the venv, a non-root user, nothing else ---
FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="kommunepuls" \
      org.opencontainers.image.description="Near-real-time monitoring of Danish municipal employment efforts"

# Numeric uid/gid so Kubernetes' runAsNonRoot can verify them. /run/kommunepuls is where
# docker-compose's scrape-token step writes; a fresh volume mounted there takes its owner.
RUN groupadd --system --gid 10001 kommunepuls \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/kommunepuls \
      --no-create-home --shell /usr/sbin/nologin kommunepuls \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/kommunepuls /run/kommunepuls

COPY --from=builder /opt/venv /opt/venv
COPY --chmod=0755 deploy/docker/healthcheck.py /usr/local/bin/kommunepuls-healthcheck

# Listen on all interfaces inside the container; KOMMUNEPULS_DATA_DIR is the only
# writable path the services need (faust's datadir), so the root filesystem can be read-only.
ENV PATH="/opt/venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    KOMMUNEPULS_PROFILE=production \
    KOMMUNEPULS_LOG_FORMAT=json \
    KOMMUNEPULS_DATA_DIR=/var/lib/kommunepuls \
    KOMMUNEPULS_INGEST_HOST=0.0.0.0 \
    KOMMUNEPULS_GATEWAY_HOST=0.0.0.0 \
    KOMMUNEPULS_WORKER_HOST=0.0.0.0

WORKDIR /var/lib/kommunepuls
USER 10001:10001

# gateway, ingest, cohorts web, metrics web
EXPOSE 8000 8001 6066 6067

# Works for every service: the script finds which one runs and asks its health endpoint.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["kommunepuls-healthcheck"]

ENTRYPOINT ["kommunepuls"]
CMD ["serve", "gateway"]
