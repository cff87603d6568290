# syntax=docker/dockerfile:1
# One image for every Livepulse service: `docker run IMAGE start <service>` (see docs/deployment.md).
# Livepulse runs its TypeScript through tsx at run time, so there is no compile step: the image
# holds the sources, the production dependencies (tsx is one of them) and, for clip-worker, ffmpeg.
#
# Targets:
#   runtime   (default) with ffmpeg: runs every service, clip-worker included, on a ClickHouse server
#   slim      without ffmpeg: every service except clip-worker (no ffmpeg and its libraries)
#   embedded  runtime plus chDB (~540 MB), for embedded mode (no CLICKHOUSE_URL) in a container

# Debian (glibc) rather than Alpine: chDB's prebuilt libchdb.so is linux-*-gnu only. The Node.js
# version is NODE_VERSION in infra/local/versions.env, which tests and CI run on (validate.sh checks).
ARG NODE_IMAGE=node:24.22.3-bookworm-slim

# --- production dependencies -------------------------------------------------------------------
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
# better-sqlite3 (the embedded bus's log) compiles from source where its prebuilt binary cannot be
# fetched; the toolchain stays in this stage, only node_modules reaches the runtime image. It is not
# pinned: the pinned base image fixes the Debian release, and nothing of it ships.
# hadolint ignore=DL3008
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# `npm install` with the lockfile rather than `npm ci`, as in .ci/run: some registries lack other
# platforms' optional builds (e.g. @chdb/lib-darwin-arm64), which `npm ci`'s strict check rejects.
# --omit=dev still installs tsx, which is a runtime dependency.
# chDB, an optional dependency that only the embedded analytics store loads, is set aside: only
# the `embedded` target ships it.
RUN --mount=type=cache,target=/root/.npm \
    npm install --omit=dev --no-audit --no-fund \
    && npm ls tsx >/dev/null \
    && mkdir /chdb && mv node_modules/chdb node_modules/@chdb /chdb/

# --- build: the browser SDK bundles (esbuild is a dev dependency) -------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# hadolint ignore=DL3008
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm install --no-audit --no-fund
COPY . .
RUN npm run build:sdk

# --- slim runtime: no ffmpeg --------------------------------------------------------------------
FROM ${NODE_IMAGE} AS slim
ARG LIVEPULSE_VERSION=0.1.0
LABEL org.opencontainers.image.title="livepulse" \
      org.opencontainers.image.description="Real-time streaming analytics and moderation for live video" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${LIVEPULSE_VERSION}"
# tini reaps ffmpeg children and forwards SIGTERM to node, whose handler drains the service.
# Debian packages are not pinned to versions: bookworm's security updates replace old ones.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    LIVEPULSE_DATA_DIR=/var/lib/livepulse \
    CLIP_WORK_DIR=/tmp
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/ingest-api/sdk/dist ./ingest-api/sdk/dist
COPY . .
# The image's user: non-root, fixed uid/gid so volumes and securityContext can name it.
RUN groupadd --system --gid 10001 livepulse \
    && useradd --system --uid 10001 --gid livepulse --home-dir /app --shell /usr/sbin/nologin livepulse \
    && mkdir -p /var/lib/livepulse \
    && chown livepulse:livepulse /var/lib/livepulse
USER 10001:10001
EXPOSE 8080
# Liveness only: /readyz checks Kafka, ClickHouse, Redis and S3 and belongs to the orchestrator's readiness gate.
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--", "node", "bin/livepulse.js"]
CMD ["start"]

# --- default runtime: with ffmpeg for clip-worker -----------------------------------------------
FROM slim AS runtime
USER root
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg \
    && rm -rf /var/lib/apt/lists/* \
    && ffmpeg -hide_banner -version >/dev/null
USER 10001:10001

# --- embedded: runtime plus chDB, for one container without a ClickHouse server ----------------
FROM runtime AS embedded
COPY --from=prod-deps /chdb/ ./node_modules/

# --- default: `docker build .` builds the last stage, which is runtime ---------------------------
FROM runtime
