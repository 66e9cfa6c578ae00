# syntax=docker/dockerfile:1
# One image for every Lectern process (gateway, each subgraph, its workers, db scripts).
# TypeScript runs directly on Node 24 (type stripping): there is no build step.
#
# Which process runs: a compose `command:` / Kubernetes `args:` (e.g.
# `node subgraphs/identity/src/main.ts`), or, with the default command, LECTERN_PROCESS:
#   gateway (default) | <subgraph> | <subgraph>-worker | bootstrap | migrate | seed | <path>.ts

ARG NODE_IMAGE=node:24-bookworm-slim
ARG PNPM_VERSION=10.34.9

FROM ${NODE_IMAGE} AS base
ARG PNPM_VERSION
ENV PNPM_HOME=/pnpm \
    PATH=/pnpm:$PATH \
    CI=true \
    APOLLO_TELEMETRY_DISABLED=true
RUN npm install --global --no-fund --no-audit "pnpm@${PNPM_VERSION}" \
 && npm cache clean --force
WORKDIR /app

# --- deps: fetch by lockfile alone (cached until pnpm-lock.yaml changes), then link offline.
FROM base AS deps
COPY pnpm-lock.yaml pnpm-workspace.yaml .npmrc ./
RUN pnpm fetch
COPY . .
RUN pnpm install --frozen-lockfile --offline

# --- runtime
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    APOLLO_TELEMETRY_DISABLED=true
WORKDIR /app
# ffmpeg/ffprobe (Debian's) for the media worker's transcodes and checks.
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg && rm -rf /var/lib/apt/lists/*
# Sources and node_modules stay owned by root (read-only to the app); besides /tmp, the
# unprivileged `node` user (uid 1000) writes only to .lectern (the notifications worker's
# default MAIL_DIR is .lectern/mail) and /var/lib/lectern (docker-compose.yml's mail, media and certificates volumes).
COPY --from=deps /app /app
RUN mkdir -p /app/.lectern /var/lib/lectern/mail /var/lib/lectern/media /var/lib/lectern/certificates && chown -R node:node /app/.lectern /var/lib/lectern
USER node
EXPOSE 4000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||4000)+'/readyz').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"
# `exec` keeps node as the signal receiver so SIGTERM triggers graceful shutdown.
CMD ["/bin/sh", "-c", "p=\"${LECTERN_PROCESS:-gateway}\"; case \"$p\" in gateway) exec node gateway/src/main.ts ;; bootstrap|migrate) exec node scripts/db.ts \"$p\" ;; seed) exec node scripts/seed-demo.ts ;; *.ts) exec node \"$p\" ;; *-worker) exec node \"subgraphs/${p%-worker}/src/worker.ts\" ;; *) exec node \"subgraphs/$p/src/main.ts\" ;; esac"]
