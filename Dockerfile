# Hubstream's image: one image for every role; docker-compose.yml and
# infra/ choose the role by its command (a script of the root package.json).
FROM node:20-bookworm-slim
ENV PNPM_HOME=/pnpm PATH=/pnpm:$PATH
RUN npm install -g pnpm@10
WORKDIR /app
COPY . .
RUN pnpm install --frozen-lockfile && chown -R node:node /app
USER node
# Listen on the container's addresses. The servers then refuse to serve
# plaintext unless told how TLS is done: TLS_CERT_FILE/TLS_KEY_FILE, or
# TLS_TERMINATED_BY_PROXY=true behind a proxy (docker-compose.yml, infra/k8s).
ENV HTTP_HOST=0.0.0.0 REALTIME_HOST=0.0.0.0 WORKER_HOST=0.0.0.0
# Control plane, realtime node, worker health.
EXPOSE 3000 6020 3001
CMD ["pnpm", "start"]
