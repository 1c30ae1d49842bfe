# syntax=docker/dockerfile:1
#
# AgentWrit broker image: multi-stage, non-root, state in the /data volume.
#
# The base image is pinned to an exact Node and Alpine version for amd64 and arm64. The release pipeline (or
# Renovate) should add the matching `@sha256:` digest to both FROM lines so a rebuild is byte-for-byte reproducible.
ARG NODE_VERSION=20.20.2
ARG ALPINE_VERSION=3.22

# --- build: compile TypeScript with the dev dependencies -----------------------------------------------------
FROM node:${NODE_VERSION}-alpine${ALPINE_VERSION} AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
# `npm ci` runs the `prepare` script, which compiles src/ into dist/.
RUN npm ci --no-audit --no-fund

# --- broker: runtime with production dependencies only ------------------------------------------------------
FROM node:${NODE_VERSION}-alpine${ALPINE_VERSION} AS broker

ARG VERSION=2.0.0
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE=https://github.com/devonartis/agentwrit

LABEL org.opencontainers.image.title="AgentWrit" \
      org.opencontainers.image.description="Credential broker for AI agents: short-lived, task-scoped EdDSA JWTs bound to SPIFFE IDs" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.url="${SOURCE}" \
      org.opencontainers.image.documentation="${SOURCE}/blob/main/docs/operator-guide.md"

# A dedicated system user; its home does not exist so no `$HOME/.broker/config` is ever picked up by accident.
RUN addgroup -S -g 10001 agentwrit \
 && adduser -S -D -H -u 10001 -G agentwrit -h /nonexistent -s /sbin/nologin agentwrit \
 && mkdir -p /data \
 && chown agentwrit:agentwrit /data \
 && chmod 0700 /data

WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would run tsc, which is a dev dependency; dist/ comes from the build stage.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/dist ./dist
COPY bin ./bin
COPY scripts/healthcheck.mjs ./scripts/healthcheck.mjs

# In a container the broker must listen on all interfaces, and its state belongs in the volume, not in the
# container layer. All three can still be overridden with -e.
ENV AA_BIND_ADDRESS=0.0.0.0 \
    AA_PORT=8080 \
    AA_DB_PATH=/data/data.db \
    AA_SIGNING_KEY_PATH=/data/signing.key \
    PATH=/app/bin:$PATH

USER agentwrit:agentwrit
VOLUME ["/data"]
EXPOSE 8080

# node is already in the image, so the probe needs no curl/wget; it follows AA_TLS_MODE (see the script).
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "/app/scripts/healthcheck.mjs"]

# Exec form: node is PID 1 and receives SIGTERM; the broker drains in-flight requests for up to 10 s.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/app/bin/broker"]
