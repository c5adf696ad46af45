# syntax=docker/dockerfile:1
# Hubstream's image: one image for every role. docker-compose.yml and
# infra/k8s choose the role by the command, always plain node on the built
# output (node_modules/@hubstream/<role>/dist/main.js; migrate.js for the
# migrations). Without a command it runs the whole of Hubstream in one
# process (dist/main.js, the standalone package).
#
#   deps     pnpm, pinned by package.json's packageManager through corepack,
#            and `pnpm fetch`: every package of the lockfile, in a layer that
#            only a lockfile change rebuilds
#   build    the sources, an offline install, `pnpm build` (every package to
#            dist/, the dashboard with Vite), then `pnpm deploy --prod`: the
#            standalone package (which depends on every role) with its
#            production dependencies and the dist/ of each workspace package
#   runtime  Node, tini as PID 1, the deployed files, a non-root user

FROM node:20-bookworm-slim AS deps
ENV PNPM_HOME=/pnpm PATH=/pnpm:$PATH COREPACK_ENABLE_DOWNLOAD_PROMPT=0 CI=true
WORKDIR /build
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml .npmrc .pnpmfile.cjs ./
RUN corepack enable && corepack install && pnpm fetch

FROM deps AS build
COPY . .
RUN pnpm install --frozen-lockfile --offline
RUN pnpm build
RUN pnpm --config.inject-workspace-packages=true deploy --filter @hubstream/standalone \
      --prod --offline /deploy

FROM node:20-bookworm-slim AS runtime
# tini is PID 1: it hands SIGTERM to the server, which drains (GOING_AWAY to
# clients, pending records written, the node registry left) and exits.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production DATA_DIR=/data
# Listen on the container's addresses. The servers then refuse to serve
# plaintext unless told how TLS is done: TLS_CERT_FILE/TLS_KEY_FILE, or
# TLS_TERMINATED_BY_PROXY=true behind a proxy (docker-compose.yml, infra/k8s).
ENV HTTP_HOST=0.0.0.0 REALTIME_HOST=0.0.0.0 WORKER_HOST=0.0.0.0
# glibc malloc as `pnpm start` runs it (test/deployment-files.ts
# STANDALONE_MALLOC_ENV): two arenas, a fixed threshold above the largest
# frame a client may send for buffers mapped and returned on free, and up to
# 8 MB kept free for the next frames, so the default command idles as
# bench:idle-rss measured. Every role of the image gets them; none has more
# than a few threads that allocate (the event loop, libuv's pool).
ENV MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=2097152 MALLOC_TRIM_THRESHOLD_=8388608
WORKDIR /app
# Owned by root, read-only for the server; only DATA_DIR is its to write.
COPY --from=build /deploy /app
RUN mkdir -p /data && chown node:node /data
USER node
# Control plane, realtime node, worker health.
EXPOSE 3000 6020 3001
# /ready of whichever servers this container runs (dist/healthcheck.js).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "dist/healthcheck.js"]
ENTRYPOINT ["/usr/bin/tini", "--"]
# The default command runs all of Hubstream in one process, with pnpm start's
# flags (test/deployment-files.ts nodeFlags: --liftoff-only and a 1 MB
# semi-space keep its idle memory small, bench:idle-rss).
CMD ["node", "--enable-source-maps", "--single-threaded-gc", "--liftoff-only", "--max-semi-space-size=1", "dist/main.js"]
