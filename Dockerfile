# Portcullis in a container: Node 24 (active LTS), a prebuilt isolated-vm, a non-root runtime with
# no build toolchain.
#   docker build -t portcullis .
#   docker run -p 8080:8080 -p 9080:9080 -e ADMIN_TOKEN=change-me portcullis
# Mount your own config and plugins over /app/config and /app/plugins (Kubernetes: deploy/kubernetes/).

FROM node:24-bookworm-slim AS build
WORKDIR /app
# On Node 24 npm installs isolated-vm 7.0.1's and 6.2.0's prebuilt binaries: no compiler is needed,
# and the slim image has none (5.0.4, which would need one, fails to build and is left out: it is
# optional). The build compiles the TypeScript.
COPY package.json npm-shrinkwrap.json .npmrc tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY sandbox ./sandbox
COPY test ./test
COPY bench ./bench
RUN npm ci && npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim
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
