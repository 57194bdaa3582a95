# syntax=docker/dockerfile:1.7
# One image per service, from one multi-stage build:
#   docker build --build-arg SERVICE=decision-engine -t scalewise/decision-engine .
# The service is bundled with everything it imports (workspace packages and third-party
# ones) into one file, dist/main.js (scripts/build-service.mjs): the runtime image holds that
# file and its source map on the Node base, no node_modules, no dev dependencies, no package
# manager. scripts/validate-deploy runs the same command against the native stack.
# Every image also carries the `scalewise` CLI as /usr/local/bin/scalewise: one JavaScript
# file with its dependencies in it (scripts/build-cli.mjs), e.g.
#   kubectl -n scalewise exec deploy/alert-manager -- scalewise tail
# --build-arg SCALEWISE_COMMIT=<sha> names the commit in `scalewise --version` (the build
# context has no .git).
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

FROM ${NODE_IMAGE} AS pnpm
ENV PNPM_HOME=/pnpm PATH=/pnpm:$PATH
WORKDIR /repo
# pnpm at the version package.json's packageManager names, from the npm registry with npm's
# integrity check. Not corepack: it also wants the registry's signing keys in the package
# metadata, which a registry mirror may not serve ("No compatible signature found").
COPY package.json ./
RUN npm install -g --no-fund --no-audit "$(node -p "require('./package.json').packageManager")"

# Dependencies first: this layer changes only with the lockfile.
FROM pnpm AS deps
COPY pnpm-lock.yaml pnpm-workspace.yaml package.json .npmrc ./
# kafkajs with static group membership (KIP-345), docs/contracts.md.
COPY patches patches
RUN --mount=type=cache,id=pnpm,target=/pnpm/store pnpm fetch --frozen-lockfile

FROM deps AS build
COPY packages packages
COPY services services
COPY scripts/build-service.mjs scripts/build-cli.mjs scripts/
COPY scripts/lib/own-source-map.mjs scripts/lib/own-source-map.mjs
COPY tsconfig.base.json ./
RUN --mount=type=cache,id=pnpm,target=/pnpm/store pnpm install --frozen-lockfile --offline
ARG SCALEWISE_COMMIT=""
RUN node scripts/build-cli.mjs
# alert-manager serves the web console. Built before SERVICE is known, so every service's
# build shares the layers up to here and only the last step below differs between them.
RUN pnpm --filter @scalewise/console build
ARG SERVICE
# SERVICE=demo: the demo workload (packages/demo), bundled the same way, for the `demo`
# service of docker-compose.yml.
RUN test -n "$SERVICE" || (echo "build with --build-arg SERVICE=<service name>" >&2; exit 1)
RUN mkdir -p /out \
 && if [ "$SERVICE" = demo ]; then \
      node --input-type=module -e "const { bundleService } = await import('./scripts/build-service.mjs'); await bundleService('packages/demo/src/main.ts', '/out/dist');"; \
    else \
      node scripts/build-service.mjs "$SERVICE" && cp -r "services/$SERVICE/dist" /out/dist; \
    fi \
 && if [ "$SERVICE" = alert-manager ]; then cp -r packages/console/dist/web /out/console; fi

FROM ${NODE_IMAGE} AS runtime
ARG SERVICE
LABEL org.opencontainers.image.title="scalewise-${SERVICE}" \
      org.opencontainers.image.source="https://github.com/scalewise/scalewise"
ENV SCALEWISE_SERVICE=${SERVICE} SCALEWISE_HTTP_HOST=0.0.0.0 SCALEWISE_HTTP_PORT=8080 \
    SCALEWISE_CONSOLE_DIR=/app/console
# glibc's allocator (bench/README.md, "Idle memory"): two arenas instead of up to eight per
# core, and free memory at the top of the heap handed back to the system past 128 KiB. glibc's
# default threshold grows to 32 MiB once V8 frees its large parser and compiler buffers, so an
# idle service kept them: 113 -> 106 MiB idle for decision-engine, 145 -> 130 for node-manager.
# scripts/validate-deploy and bench/idle-rss.mjs read these two lines.
ENV MALLOC_ARENA_MAX=2
ENV MALLOC_TRIM_THRESHOLD_=131072
WORKDIR /app
COPY --from=build --chown=root:root /out /app
COPY --from=build --chown=root:root --chmod=755 /repo/packages/cli/dist/scalewise.js /usr/local/bin/scalewise
# The image's files belong to root and are read-only for the service's user.
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.SCALEWISE_HTTP_PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# A 2 MiB young generation: 113 instead of 136 MiB idle (bench/README.md), no throughput cost
# at the event rates of an autoscaler. No --enable-source-maps: the service maps a stack trace
# to its TypeScript sources itself, reading dist/main.js.map at the first trace
# (packages/service/src/source-stacks.ts), which saves the 6 MiB Node holds from the start.
ENTRYPOINT ["node", "--max-semi-space-size=2", "--disable-warning=TimeoutNegativeWarning", "dist/main.js"]
