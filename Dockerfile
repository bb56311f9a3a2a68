# The service image used by docker-compose.yml. Three stages:
#   build      compiles src/ and migrations/ (tsconfig.prod.json: no bench/, no test/)
#   prod-deps  installs the production dependencies only (better-sqlite3 may compile, so the
#              compiler lives here and not in the image)
#   runtime    node, the compiled service and its production dependencies, run as a non-root user
# .ci/docker-replay.cjs replays the COPY and RUN steps without Docker and starts the result.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# Only the TypeScript compiler and types are needed here: no install scripts, no native build.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json tsconfig.prod.json ./
COPY src ./src
COPY migrations ./migrations
RUN npx tsc -p tsconfig.prod.json

FROM node:20-bookworm-slim AS prod-deps
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=3000 \
    DATABASE_URL=sqlite:/data/webchat.sqlite \
    EXPORT_LOCAL_DIR=/data/outbox
WORKDIR /app
# A system user of its own; the only place it writes is /data (SQLite by default, the local outbox).
RUN groupadd --system --gid 10001 webchat \
 && useradd --system --uid 10001 --gid webchat --home-dir /app --no-create-home --shell /usr/sbin/nologin webchat \
 && mkdir -p /data/outbox && chown -R webchat:webchat /data
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
USER webchat
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# A young generation of up to 32 MB per semi-space: the relay allocates short-lived objects for every
# message, and fewer scavenges cut its CPU per message by about a sixth (README, Performance). The
# same options as `npm run start:prod`; the bench runs the service with them.
CMD ["node", "--max-semi-space-size=32", "dist/src/main.js"]
