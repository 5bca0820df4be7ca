# syntax=docker/dockerfile:1
#
# pachbackup: one image for the Slack app (`serve`, the default), the workers (`worker`) and the CLI
# (`backup --cluster prod`, `list`, `verify`, ...):
#
#   docker build -t ghcr.io/pachbackup/pachbackup:0.1.0 .
#   docker run --rm -v "$PWD/pachbackup.yaml:/etc/pachbackup/pachbackup.yaml:ro" ghcr.io/pachbackup/pachbackup:0.1.0 config check
#
# Stages: `build` compiles TypeScript and keeps only production dependencies; `pgdg-key` fetches and checks the
# PostgreSQL apt repository's signing key; `runtime` is Node, PostgreSQL client tools and the built app, run as
# an unprivileged user under tini. Kubernetes manifests are in deploy/ (see deploy/README.md).

# A supported Node LTS (Node 20 is end of life). Both Node stages use the same base, so native modules built
# or fetched in `build` (msgpackr-extract's prebuilds) match the runtime's Node ABI and libc.
ARG NODE_IMAGE=node:22-bookworm-slim
# pg_dump must be at least the server's major version (it refuses newer servers, "server version mismatch"),
# and a newer pg_dump dumps every older server back to 9.2. Debian bookworm only has 15, which refuses the
# PostgreSQL 16 and 17 servers that managed services (RDS, Cloud SQL, Azure) now create, so the client comes
# from the PostgreSQL project's own apt repository: 17 dumps and restores every server from 9.2 to 17, which
# covers the 13-17 that Pachyderm installations run. Raise it when a server moves to 18: pachbackup uses the
# newest /usr/lib/postgresql/<major>/bin, and its preflight refuses a server newer than that pg_dump.
ARG PG_MAJOR=17

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Dependencies first, so that a source change does not reinstall them.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && npm cache clean --force

# The PostgreSQL apt repository's key (https://wiki.postgresql.org/wiki/Apt), fetched over HTTPS and accepted
# only with the published fingerprint, in a stage of its own so curl and gnupg stay out of the runtime image.
FROM debian:bookworm-slim AS pgdg-key
ARG PGDG_KEY_URL=https://www.postgresql.org/media/keys/ACCC4CF8.asc
ARG PGDG_KEY_FINGERPRINT=B97B0AFCAA1A47F044F244A07FCC7D46ACCC4CF8
RUN set -eu; \
    apt-get update; \
    apt-get install -y --no-install-recommends ca-certificates curl gnupg; \
    curl -fsSL --proto '=https' --tlsv1.2 -o /apt.postgresql.org.asc "$PGDG_KEY_URL"; \
    fingerprint="$(gpg --batch --show-keys --with-colons /apt.postgresql.org.asc | awk -F: '$1 == "fpr" { print $10; exit }')"; \
    if [ "$fingerprint" != "$PGDG_KEY_FINGERPRINT" ]; then \
      echo "PostgreSQL apt key has fingerprint '$fingerprint', expected $PGDG_KEY_FINGERPRINT" >&2; exit 1; \
    fi

FROM ${NODE_IMAGE} AS runtime
ARG PG_MAJOR
# ca-certificates: apt over HTTPS. tini: PID 1 — it forwards SIGTERM to node (whose handler stops the Slack app
# or lets the worker finish its operation, so the cluster is never left paused) and reaps the pg_dump and
# pg_restore children. npm, npx, corepack and yarn are removed: nothing installs packages at run time.
COPY --from=pgdg-key /apt.postgresql.org.asc /usr/share/keyrings/apt.postgresql.org.asc
RUN set -eu; \
    apt-get update; \
    apt-get install -y --no-install-recommends ca-certificates tini; \
    . /etc/os-release; \
    echo "deb [signed-by=/usr/share/keyrings/apt.postgresql.org.asc] https://apt.postgresql.org/pub/repos/apt ${VERSION_CODENAME}-pgdg main" \
      > /etc/apt/sources.list.d/pgdg.list; \
    apt-get update; \
    apt-get install -y --no-install-recommends "postgresql-client-${PG_MAJOR}"; \
    rm -rf /var/lib/apt/lists/*; \
    "/usr/lib/postgresql/${PG_MAJOR}/bin/pg_dump" --version; \
    rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack /opt/yarn-* /usr/local/bin/yarn /usr/local/bin/yarnpkg; \
    groupadd --gid 10001 pachbackup; \
    useradd --uid 10001 --gid 10001 --home-dir /home/pachbackup --create-home --shell /usr/sbin/nologin pachbackup

WORKDIR /app
# Owned by root and read-only to the app: the code cannot be changed by the process running it.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY manifest.yml ./manifest.yml

ENV NODE_ENV=production \
    PACHBACKUP_CONFIG=/etc/pachbackup/pachbackup.yaml
# 3000: Slack events in HTTP mode (slack.port); 9090: /metrics, /healthz, /readyz.
EXPOSE 3000 9090
# Numeric, so that Kubernetes' runAsNonRoot can verify it without a passwd lookup.
USER 10001:10001
# No HEALTHCHECK: the same image runs one-shot CLI commands, and Kubernetes ignores it in favour of the
# liveness and readiness probes in deploy/ (/healthz and /readyz on 9090).
ENTRYPOINT ["tini", "--", "node", "/app/bin/pachbackup.js"]
CMD ["serve"]

LABEL org.opencontainers.image.title="pachbackup" \
      org.opencontainers.image.description="Back up and restore Pachyderm clusters from Slack or a CLI" \
      org.opencontainers.image.source="https://github.com/pachbackup/pachbackup" \
      org.opencontainers.image.licenses="Apache-2.0"
