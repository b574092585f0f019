# One image per service of the platform, from this one file. Build from the repository root:
#   docker build --build-arg SERVICE=petition-svc -t mai/petition-svc .
#   docker build --build-arg SERVICE=gateway --build-arg SERVICE_DIR=gateway -t mai/gateway .
# `make images` builds them all (see its table of services: one line per service).
#
# SERVICE       the console script and package (petition-svc, ..., gateway)
# SERVICE_DIR   its directory (services/$SERVICE by default)
# EXTRAS        pip extras of the service, e.g. "[s3]" for booking-svc's S3 document store
# BASE_IMAGE    any Debian-like image with Python >= 3.11 and its venv module; the default is the
#               public one, `make images` on a machine without a registry builds its own from
#               Debian's packages (deploy/images/base.sh)
# SYSTEM_PACKAGES  Debian packages the runtime needs (record-svc: fonts-dejavu-core, the font of
#               its certificates), installed with apt only when the base lacks them
#
# The image runs as user 10001 with a read-only root filesystem: the only paths written are /tmp
# (an emptyDir in a pod: Prometheus' multi-process files and gunicorn's worker heartbeats) and
# the service's data volume, if it has one.

ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS build
ARG SERVICE
ARG SERVICE_DIR=services/${SERVICE}
ARG EXTRAS=""
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# What every service shares first, so that its layer is built once for all of them.
COPY contracts/ contracts/
COPY libs/chassis/ libs/chassis/
RUN test -n "${SERVICE}" || { echo "build with --build-arg SERVICE=<name>" >&2; exit 1; } \
 && python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --quiet ./contracts ./libs/chassis
COPY ${SERVICE_DIR}/ ${SERVICE_DIR}/
RUN /opt/venv/bin/pip install --quiet "./${SERVICE_DIR}${EXTRAS}" \
 && test -x "/opt/venv/bin/${SERVICE}" \
 && ln -s "/opt/venv/bin/${SERVICE}" /opt/venv/bin/mai-service \
 && /opt/venv/bin/python -m compileall -q /opt/venv >/dev/null

FROM ${BASE_IMAGE} AS runtime
ARG SERVICE
ARG SYSTEM_PACKAGES=""
RUN if [ -n "${SYSTEM_PACKAGES}" ] && ! dpkg -s ${SYSTEM_PACKAGES} >/dev/null 2>&1; then \
      apt-get update \
      && apt-get install -y --no-install-recommends ${SYSTEM_PACKAGES} \
      && rm -rf /var/lib/apt/lists/*; \
    fi \
 && groupadd --system --gid 10001 mai \
 && useradd --system --uid 10001 --gid mai --no-create-home --shell /usr/sbin/nologin mai \
 && install -d -o 10001 -g 10001 /var/lib/mai
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus \
    MAI_SERVICE=${SERVICE}
LABEL org.opencontainers.image.title="${SERVICE}" \
      org.opencontainers.image.description="MAI e-services: ${SERVICE} (web, worker, migrate and its maintenance commands)"
USER 10001:10001
WORKDIR /var/lib/mai
EXPOSE 8080 9090
ENTRYPOINT ["mai-service"]
CMD ["web"]
