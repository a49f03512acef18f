# syntax=docker/dockerfile:1
# One image for every role of the fleet: the command chooses it (deploy/README.md).
#   worker    celery -A nusaworker worker -Q <queues> --pool threads -c <n> -n <role>@%h
#   beat      celery -A nusaworker beat          (celery-redbeat: run two, one holds the lock)
#   receiver  nusaworker callbacks               (NUSAWORKER_CALLBACK_HOST=0.0.0.0, port 8090)
# No setting and no secret is baked in: NUSAWORKER_* come from the environment at run time, and
# the build context is an allow-list (.dockerignore), so a local .env cannot slip in.
ARG PYTHON_IMAGE=python:3.12-slim

# -- build: the project's wheel and the wheels of its dependencies --------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md celeryconfig.py ./
COPY nusaworker ./nusaworker
RUN pip wheel --wheel-dir /wheels .

# -- run: a virtualenv with those wheels only, no compiler, no pip cache, no source tree --------
FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="nusaworker" \
      org.opencontainers.image.description="Outbound WhatsApp/SMS Celery fleet: workers, beat, callback receiver"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH
# The wheels are bind-mounted from the build stage, so they never become a layer of this image.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    python -m venv /opt/venv \
    && pip install --no-index --find-links=/wheels /wheels/nusaworker-*.whl \
    && groupadd --system --gid 10001 nusaworker \
    && useradd --system --uid 10001 --gid nusaworker --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin nusaworker
# An empty, root-owned working directory: pydantic-settings reads a .env from here, and none
# is there; the processes write nothing but /tmp (a tmpfs / emptyDir where the root is read-only).
WORKDIR /app
USER 10001:10001
# 8090: callback receiver (GET /healthz, /metrics); 9808: a worker's metrics exporter
# (NUSAWORKER_METRICS_PORT).
EXPOSE 8090 9808
# Exec form: the process is PID 1's child under `init`, or PID 1 itself, and gets SIGTERM
# directly; Celery's answer to SIGTERM is a warm shutdown (running tasks finish).
CMD ["celery", "-A", "nusaworker", "worker", "-l", "info"]
