# Fleetgraph's production image: the compiled build (dist/) and production dependencies only, run as the
# unprivileged `node` user. docs/production.md describes it; compose.yaml runs two replicas of it behind a
# load balancer and a federation gateway.
#
#   docker build -t fleetgraph .
#   docker run --env-file .env -p 4000:4000 -v fleetgraph-data:/var/lib/fleetgraph fleetgraph
#
# test/e2e/production-tree.test.ts builds the same tree (tsc, then `npm install --omit=dev` beside it) and
# runs it against the emulators, so what this image holds is tested without a container runtime.
ARG NODE_IMAGE=node:20-bookworm-slim

# --- toolchain: better-sqlite3 compiles from source when no prebuilt binary can be downloaded ---------------
FROM ${NODE_IMAGE} AS toolchain
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
# node-gyp uses this image's own Node headers rather than downloading them (builds behind a registry mirror),
# and compiles in parallel.
ENV npm_config_nodedir=/usr/local \
  JOBS=max
WORKDIR /app

# --- build: every dependency, then tsc -p tsconfig.build.json -> dist/ ---------------------------------------
FROM toolchain AS build
COPY package.json package-lock.json ./
# The lockfile names the workspace package: without its package.json npm would drop it from the install.
COPY packages/client/package.json ./packages/client/
# `npm install` honours the lockfile; `npm ci` fails on registries without every platform's binaries.
RUN npm install --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The trusted-documents manifest (PERSISTED_DOCUMENTS): `npm run build` copies it to dist/.
COPY packages/client/src/generated/persisted-documents.json ./packages/client/src/generated/
RUN npm run build

# --- prod-deps: what `npm install --omit=dev` installs, native modules built for this Node -------------------
FROM toolchain AS prod-deps
COPY package.json package-lock.json ./
COPY packages/client/package.json ./packages/client/
RUN npm install --omit=dev --no-audit --no-fund && npm cache clean --force

# --- runtime ---------------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
  HOST=0.0.0.0 \
  PORT=4000 \
  ADMIN_PORT=9464
WORKDIR /app
# State that outlives the container: the upload job store (without CACHE_URL) and the fleet index's SQLite
# file (without FLEET_INDEX_DATABASE_URL). Their default paths, .fleetgraph/jobs.sqlite and
# .fleetgraph/fleet-index.sqlite relative to /app, lead into the volume; the defaults are used rather than
# JOB_STORE_FILE, which Fleetgraph refuses next to CACHE_URL.
RUN mkdir -p /var/lib/fleetgraph \
  && chown node:node /var/lib/fleetgraph \
  && ln -s /var/lib/fleetgraph /app/.fleetgraph
VOLUME /var/lib/fleetgraph
# Owned by root, so the process cannot change its own code.
COPY package.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
USER node
# GraphQL and Knox callbacks on PORT; /metrics, /readyz and /healthz on ADMIN_PORT.
EXPOSE 4000 9464
# Liveness, not readiness: /readyz turns 503 while an upstream is down, and restarting the replica would not
# bring that upstream back. Load balancers and orchestrators should route on /readyz.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.ADMIN_PORT || process.env.PORT || 4000}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Exec form: node is PID 1 and receives SIGTERM itself; Fleetgraph then drains HTTP requests and WebSocket
# subscriptions, closes its stores and exits 0. Give it longer than UPSTREAM_DEADLINE_MS (20 s) to do so.
STOPSIGNAL SIGTERM
CMD ["node", "dist/cli.js", "serve"]
