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
# LIBS          our own libraries the service needs besides the chassis, installed before it
#               (portal-svc: libs/webkit)
# SYSTEM_PACKAGES  Debian packages the runtime needs (record-svc: fonts-dejavu-core, the font of
#               its certificates), installed with apt only when the base lacks them
#
# The image runs as user 10001 with a read-only root filesystem: the only paths written are /tmp
# (an emptyDir in a pod: Prometheus' multi-process files and gunicorn's worker heartbeats) and
# the service's data volume, if it has one.

ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# What every service shares first (before SERVICE is declared), so that this layer is built once
# and reused by every service's image.
COPY contracts/ contracts/
COPY libs/chassis/ libs/chassis/
# A build machine whose HTTPS goes through an inspecting proxy passes its CA bundle as the secret
# `ca-bundle` (`--secret id=ca-bundle,src=/etc/ssl/certs/ca-certificates.crt`); it is not kept.
RUN --mount=type=cache,target=/root/.cache/pip --mount=type=secret,id=ca-bundle \
    if [ -s /run/secrets/ca-bundle ]; then export PIP_CERT=/run/secrets/ca-bundle; fi \
 && python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --quiet ./contracts ./libs/chassis
ARG SERVICE
ARG SERVICE_DIR=services/${SERVICE}
ARG EXTRAS=""
ARG LIBS=""
# The front ends' library is copied for every service (a small layer, shared); installed only
# where LIBS names it.
COPY libs/webkit/ libs/webkit/
COPY ${SERVICE_DIR}/ ${SERVICE_DIR}/
RUN --mount=type=cache,target=/root/.cache/pip --mount=type=secret,id=ca-bundle \
    test -n "${SERVICE}" || { echo "build with --build-arg SERVICE=<name>" >&2; exit 1; }; \
    if [ -s /run/secrets/ca-bundle ]; then export PIP_CERT=/run/secrets/ca-bundle; fi \
 && for lib in ${LIBS}; do test -f "./${lib}/pyproject.toml" || { echo "LIBS: no library ${lib}" >&2; exit 1; }; done \
 && /opt/venv/bin/pip install --quiet $(for lib in ${LIBS}; do printf './%s ' "${lib}"; done) "./${SERVICE_DIR}${EXTRAS}" \
 && test -x "/opt/venv/bin/${SERVICE}" \
 && ln -s "/opt/venv/bin/${SERVICE}" /opt/venv/bin/mai-service \
 && /opt/venv/bin/python -m compileall -q /opt/venv/lib >/dev/null

FROM ${BASE_IMAGE} AS runtime
ARG SYSTEM_PACKAGES=""
RUN if [ -n "${SYSTEM_PACKAGES}" ] && ! dpkg -s ${SYSTEM_PACKAGES} >/dev/null 2>&1; then \
      apt-get update \
      && apt-get install -y --no-install-recommends ${SYSTEM_PACKAGES} \
      && rm -rf /var/lib/apt/lists/*; \
    fi \
 && groupadd --gid 10001 mai \
 && useradd --uid 10001 --gid mai --no-create-home --shell /usr/sbin/nologin mai \
 && install -d -o 10001 -g 10001 /var/lib/mai
COPY --from=build /opt/venv /opt/venv
ARG SERVICE
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
