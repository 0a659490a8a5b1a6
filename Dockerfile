# syntax=docker/dockerfile:1
#
# One image for the three production entry points; the command picks the role:
#   node bin/gateway.ts   (default)  GraphQL gateway on $PORT (4000)
#   node bin/worker.ts               sync worker (health on $WORKER_HEALTH_PORT, 4001)
#   node bin/migrate.ts              applies pending migrations, then exits
# docker-compose.yml runs them against real Postgres/ClickHouse/Redis/Qdrant/Kafka: migrate
# once, two gateways, one worker. With NODE_ENV=production every role needs a token key
# (AUTH_JWT_SECRET, AUTH_JWKS_URL or AUTH_PUBLIC_KEY): lib/config.ts refuses to start without.
#
# No build step: Node 24 runs the .ts sources as they are (type stripping is on by
# default since Node 23.6 / 22.18; the code is erasable-syntax-only, see tsconfig.json).
# So the image's own Node runs them directly, never through `npm run`: the `node`
# devDependency that `npm run` scripts use outside Docker is left out with the other
# devDependencies.
#
# Build:  docker build -t yieldsensei-gateway .
# Pin the exact Node that `npm test` runs on (the `node` devDependency in
# package-lock.json) with e.g. --build-arg NODE_VERSION=24.21.0.

ARG NODE_VERSION=24

# --- deps: production node_modules only --------------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./

# chDB (embedded ClickHouse) is a normal dependency and stays installed, but it is only
# loaded when CLICKHOUSE_URL is absent, and then lazily (stores/clickhouse.ts imports
# chdb/connection on demand). Its native library is an optional per-platform package,
# @chdb/lib-<platform>, of about 540 MB, so by default it is removed: with CLICKHOUSE_URL
# set it is never touched. Build with --build-arg EMBEDDED_CLICKHOUSE=true to keep it for
# running the image without a ClickHouse server (the lockfile pins only the linux-x64
# build, so on arm64 you won't get the library even with this flag).
ARG EMBEDDED_CLICKHOUSE=false

# npm install, not npm ci: the lock file holds chdb's linux-x64 library only (the registry the
# project is developed against serves no other platform), and npm ci refuses a lock file
# missing optional platform packages; npm install keeps the locked versions.
# --omit=dev: no TypeScript, vitest, codegen, autocannon, and no npm-packaged Node.
# --ignore-scripts: no production dependency needs an install script (chDB's library
# comes as a prebuilt package, not a postinstall download; @apollo/protobufjs's
# postinstall only concerns its CLI).
RUN --mount=type=cache,target=/root/.npm,sharing=locked \
    npm install --omit=dev --ignore-scripts --no-audit --no-fund \
 && if [ "$EMBEDDED_CLICKHOUSE" != "true" ]; then rm -rf node_modules/@chdb; fi

# --- runtime --------------------------------------------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
WORKDIR /app

# HOST: the app's default is 127.0.0.1 (lib/config.ts), which nothing outside the
# container can reach; listen on every interface instead.
# DATA_DIR: where the embedded tiers (PGlite, chDB) keep data when their URL is unset;
# the only path the app writes to, so the only one the non-root user owns.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=4000 \
    DATA_DIR=/app/.data

COPY --from=deps /app/node_modules ./node_modules
# Sources (see .dockerignore for what is left out). Owned by root and read-only for the
# app user: the app never writes next to its code.
COPY . .
RUN mkdir -p "$DATA_DIR" && chown node:node "$DATA_DIR"

# The official image's unprivileged user (uid 1000).
USER node

EXPOSE 4000

# Readiness of the gateway (GET /readyz: 200 when every tier answers, else 503), sent by
# the image's own Node: the slim base has no curl or wget. The other roles run the same
# image: docker-compose.yml checks the worker on its own port (WORKER_HEALTH_PORT, 4001)
# and turns the check off for migrate.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 4000) + '/readyz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# The app handles SIGTERM/SIGINT itself (bin/runtime.ts: graceful stop, then exit).
CMD ["node", "bin/gateway.ts"]
