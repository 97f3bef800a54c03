# heaplab container image.
#
#   docker build -t heaplab .     (or: podman build --format docker -t heaplab .)
#   docker run -d -p 127.0.0.1:8080:8080 -e HEAPLAB_ADMIN_TOKEN=... heaplab
#
# Stage "vendor" fetches the dashboard's browser libraries (static/vendor/ is
# gitignored) with npm ci from static/package-lock.json, as deploy/setup does.
# Stage "build" compiles heaplab on debian:bookworm and runs its test suites;
# a failing test fails the image build. The final stage is debian:bookworm-slim
# with only the runtime libraries, the stripped binary, static/ and
# api/openapi.json. deploy/container.md has the how-to; the image is tested
# for real by tests/deploy/test_container.sh.

FROM debian:bookworm AS vendor

RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      nodejs npm ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /vendor
COPY static/package.json static/package-lock.json ./
# The same files deploy/setup's vendor() copies into static/vendor/.
RUN npm ci --ignore-scripts --no-audit --no-fund --loglevel=error \
 && mkdir out \
 && cp node_modules/cytoscape/dist/cytoscape.esm.min.mjs \
       node_modules/uplot/dist/uPlot.esm.js \
       node_modules/uplot/dist/uPlot.min.css out/


FROM debian:bookworm AS build

# curl and jq: the server suite runs README's curl lesson against a live server.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      meson ninja-build pkg-config gcc libc6-dev check \
      libjansson-dev libmicrohttpd-dev python3 curl jq \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .
COPY --from=vendor /vendor/out/ static/vendor/

RUN meson setup build -Dbuildtype=debugoptimized \
 && ninja -C build

# The C unit suites (core, with the differential suite against python3), the
# API suite and the server suite (a live server on loopback). Skipped here:
# the suites "e2e" (needs a browser), "deploy" (needs nginx), "openapi"
# (lints api/openapi.json with Redocly from npm: a check of the source, not
# of this build) and "container" (this very image). deploy/setup test runs
# them all.
RUN meson test -C build --no-rebuild --print-errorlogs --num-processes 2 \
      --suite core --suite api --suite server

# Keep the image's version label honest: it must match meson.build's version.
ARG HEAPLAB_VERSION=0.1.0
RUN test "$(build/server/heaplab --version)" = "heaplab ${HEAPLAB_VERSION}" \
 || { echo "Dockerfile: ARG HEAPLAB_VERSION=${HEAPLAB_VERSION} but the binary says '$(build/server/heaplab --version)'; update the ARG" >&2; exit 1; }
RUN mkdir -p /out \
 && strip -o /out/heaplab build/server/heaplab


FROM debian:bookworm-slim

ARG HEAPLAB_VERSION=0.1.0
ARG HEAPLAB_SOURCE=https://github.com/heaplab/heaplab
LABEL org.opencontainers.image.title="heaplab" \
      org.opencontainers.image.description="A live, CPython-faithful managed heap behind an HTTP API: refcounts, the cyclic GC and pymalloc arenas, with a dashboard" \
      org.opencontainers.image.source="${HEAPLAB_SOURCE}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${HEAPLAB_VERSION}"

# Runtime libraries only (libmicrohttpd12 pulls libgnutls30, already in the
# base image because apt uses it). A numeric, non-root user; /var/lib/heaplab
# is its home and the mount point for a data volume.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libjansson4 libmicrohttpd12 \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log \
 && groupadd --system --gid 10001 heaplab \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/heaplab \
      --no-create-home --shell /usr/sbin/nologin heaplab \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/heaplab

COPY --from=build /out/heaplab /usr/local/bin/heaplab
COPY --from=build /src/static /usr/local/share/heaplab/static
COPY --from=build /src/api/openapi.json /usr/local/share/heaplab/openapi.json

# The compiled-in static/openapi defaults point into the build tree: point
# them at the copies. Listen on every address of the container (the port is
# published by the runtime), with auth on: give the admin token in
# HEAPLAB_ADMIN_TOKEN, or better in a file (a mounted secret) named by
# HEAPLAB_ADMIN_TOKEN_FILE. Without either the server still starts and every
# heap is opened by the token it was created with; only the admin-only
# listing (GET /v1/heaps) is unavailable.
# Heaps are kept in /var/lib/heaplab (journal + snapshots): mount a volume
# there so they survive the container.
ENV HEAPLAB_BIND=0.0.0.0 \
    HEAPLAB_PORT=8080 \
    HEAPLAB_DATA_DIR=/var/lib/heaplab \
    HEAPLAB_STATIC_DIR=/usr/local/share/heaplab/static \
    HEAPLAB_OPENAPI=/usr/local/share/heaplab/openapi.json

USER 10001:10001
WORKDIR /var/lib/heaplab
VOLUME ["/var/lib/heaplab"]
EXPOSE 8080
# heaplab drains its connections on SIGTERM and exits 0.
STOPSIGNAL SIGTERM
# --healthcheck reads the same HEAPLAB_* environment as the server (override
# HEAPLAB_PORT/HEAPLAB_BIND with -e, not with flags, so both agree) and
# probes its /healthz.
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 \
  CMD ["heaplab", "--healthcheck"]
ENTRYPOINT ["heaplab"]
