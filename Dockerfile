# syntax=docker/dockerfile:1
# invreqd container image.
#
#   docker build -t invreqd:dev .
#   docker build --build-arg CARGO_FEATURES=grpc -t invreqd:grpc .   # with --node cln-grpc (docs/cln-grpc.md)
#
# The runtime image is debian:bookworm-slim with ca-certificates only; it runs as UID/GID 10001,
# works with a read-only root filesystem (data in /var/lib/invreqd, temp in /tmp: mount volumes
# there), listens on 0.0.0.0:8080 and logs JSON lines. No HEALTHCHECK: Kubernetes probes
# /healthz and /readyz. No secrets are baked in: the node rune, its CA and the database URL come
# from the environment or mounted files at run time.

ARG RUST_VERSION=1.95

# ---- build ------------------------------------------------------------------------------------
FROM rust:${RUST_VERSION}-slim-bookworm AS build

# Cargo features to build with (space- or comma-separated), e.g. "grpc". When they include
# "grpc", protobuf-compiler is installed for cln-grpc's build script: in this stage only.
ARG CARGO_FEATURES=""

SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# hadolint ignore=DL3008
RUN if [[ "${CARGO_FEATURES}" == *grpc* ]]; then \
        apt-get update \
        && apt-get install -y --no-install-recommends protobuf-compiler \
        && rm -rf /var/lib/apt/lists/*; \
    fi

WORKDIR /src

# 1. Dependencies only, in their own layer: the manifests with placeholder sources. This layer
#    is rebuilt only when Cargo.toml or Cargo.lock change.
#    The workspace's test double (cln-double) only needs its manifest and placeholder sources:
#    it is a dev-dependency, never part of the image.
COPY Cargo.toml Cargo.lock ./
COPY cln-double/Cargo.toml ./cln-double/
RUN mkdir -p src cln-double/src \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && echo 'fn main() {}' > cln-double/src/main.rs \
    && touch cln-double/src/lib.rs \
    && cargo build --release --locked -p invreqd --features "${CARGO_FEATURES}" \
    && rm -rf src

# 2. The crate itself. `touch` makes cargo rebuild it: the copied files may be older than the
#    placeholder build.
COPY migrations ./migrations
COPY src ./src
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked -p invreqd --features "${CARGO_FEATURES}" \
    && install -D -m 0755 target/release/invreqd /out/invreqd

# ---- runtime ----------------------------------------------------------------------------------
FROM debian:bookworm-slim AS runtime

# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /var/lib/invreqd \
    && chown 10001:10001 /var/lib/invreqd \
    && chmod 0700 /var/lib/invreqd

COPY --from=build /out/invreqd /usr/local/bin/invreqd

ENV INVREQD_LISTEN=0.0.0.0:8080 \
    INVREQD_DATA_DIR=/var/lib/invreqd \
    INVREQD_LOG_FORMAT=json \
    TMPDIR=/tmp

USER 10001:10001
WORKDIR /var/lib/invreqd
EXPOSE 8080
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/invreqd"]
CMD ["serve"]
