# Portcullis in a container: Node 20, isolated-vm compiled in the build stage, a non-root runtime.
#   docker build -t portcullis .
#   docker run -p 8080:8080 -p 9080:9080 -e ADMIN_TOKEN=change-me portcullis
# Mount your own config and plugins over /app/config and /app/plugins (Kubernetes: deploy/kubernetes/).

FROM node:20-bookworm AS build
WORKDIR /app
# python3, make and g++ (in this image) build isolated-vm from source; `prepare` compiles the TypeScript.
COPY package.json package-lock.json tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY sandbox ./sandbox
COPY test ./test
COPY bench ./bench
RUN npm ci && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist/src ./dist/src
COPY --from=build --chown=node:node /app/dist/sandbox ./dist/sandbox
COPY --from=build --chown=node:node /app/dist/dashboard ./dist/dashboard
# The plugin compiler bundles the in-isolate runtime and the SDK from their sources.
COPY --chown=node:node sandbox ./sandbox
COPY --chown=node:node bin ./bin
COPY --chown=node:node package.json ./
COPY --chown=node:node config ./config
COPY --chown=node:node plugins ./plugins
USER node
EXPOSE 8080 9080
# The admin API listens on all interfaces inside the container, so it needs a token (ADMIN_TOKEN).
ENV ADMIN_HOST=0.0.0.0
ENTRYPOINT ["node", "--no-node-snapshot", "bin/portcullis.js"]
CMD ["start", "--config", "config/portcullis.yaml", "--plugins", "plugins", "--workers", "auto"]
