# Multi-stage build: compile in the Rust image, run from a small Debian image as a non-root user.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY migrations ./migrations
RUN cargo build --release --locked --bin chief && strip target/release/chief

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /data --create-home chief
COPY --from=build /src/target/release/chief /usr/local/bin/chief
USER chief
WORKDIR /data
ENV CHIEF_LISTEN=0.0.0.0:3000 \
    DATABASE_URL=sqlite:///data/chief.db \
    CHIEF_LOG_FORMAT=json
EXPOSE 3000
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["chief", "healthcheck"]
ENTRYPOINT ["chief"]
CMD ["serve"]
