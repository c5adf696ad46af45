# Hubstream's image: one image for every role; docker-compose.yml and
# infra/ choose the role by its command (a script of the root package.json).
FROM node:20-bookworm-slim
ENV PNPM_HOME=/pnpm PATH=/pnpm:$PATH
RUN npm install -g pnpm@10
WORKDIR /app
COPY . .
RUN pnpm install --frozen-lockfile && chown -R node:node /app
USER node
ENV HTTP_HOST=0.0.0.0 REALTIME_HOST=0.0.0.0 WORKER_HOST=0.0.0.0
# Control plane, realtime node, worker health.
EXPOSE 3000 6020 3001
CMD ["pnpm", "start"]
