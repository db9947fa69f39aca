# Channel router: one image for every app in apps/.
#
# How the app is chosen (one mechanism, build-time default + run-time override):
#   - build ARG APP (default "router") becomes the image's default ENV APP;
#   - the default CMD runs `node dist/apps/${APP}/src/main.js`: APP is `router`,
#     `gateway` or `adapters/<channel>` (e.g. APP=adapters/sms), and a container can
#     also pick another app at run time with `-e APP=<name>` / compose
#     `environment: APP: <name>` / a k8s env var, without rebuilding;
#   - there is no ENTRYPOINT, so any other script replaces the CMD:
#       docker run --rm channel-router:0.1.0 node dist/scripts/migrate.js
#
# Build:   docker build -t channel-router:0.1.0 .            (APP=router)
#          docker build --build-arg APP=<name> -t ... .
# Runtime: non-root (uid 1000 "node"), NODE_ENV=production, node is PID 1 and
#          handles SIGTERM itself (graceful shutdown in the app), so no init.
#          Set HTTP_PORT for apps whose port is not the router's 3001: the
#          HEALTHCHECK reads it.

ARG NODE_IMAGE=node:24.21.0-bookworm-slim

# ---- build: full install (incl. dev deps: swc, typescript) and compile to dist/
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY .swcrc tsconfig.json ./
COPY apps ./apps
COPY libs ./libs
COPY scripts ./scripts
COPY bench ./bench
RUN npm run build

# ---- prod-deps: runtime dependencies only (the `node` devDependency is not
# needed: the base image already brings Node 24)
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# ---- runtime
FROM ${NODE_IMAGE} AS runtime
ARG APP=router
ENV NODE_ENV=production \
    APP=${APP} \
    NODE_OPTIONS="--max-semi-space-size=8 --max-old-space-size=192"
WORKDIR /app
# Files stay owned by root and read-only for the "node" user (works with a
# read-only root filesystem; only /tmp needs to be writable).
COPY package.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The web chat widget and demo page are read from the source tree at boot (widget-assets.ts).
COPY apps/adapters/webchat/public ./apps/adapters/webchat/public
USER node
EXPOSE 3001
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.HTTP_PORT || 3001) + '/health/live', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["sh", "-c", "exec node --enable-source-maps dist/apps/${APP}/src/main.js"]
