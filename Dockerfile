# redline's container image: the release binary on a slim Debian base, run
# as an unprivileged user, the journal on a volume, the control plane on
# port 9900. Build: docker build -t redline .  Run:
#   docker run --rm -p 9900:9900 -v redline-data:/var/lib/redline \
#     -e REDLINE_ADMIN_TOKEN=... redline
# Checked by hadolint in cargo test (control/tests/deploy.rs).

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p redline

FROM debian:bookworm-slim
RUN groupadd --system --gid 10001 redline \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/redline \
        --create-home --shell /usr/sbin/nologin redline
COPY --from=build /src/target/release/redline /usr/local/bin/redline
COPY deploy/container/redline.toml /etc/redline/redline.toml
ENV REDLINE_JOURNAL_DIR=/var/lib/redline/journal
USER 10001:10001
WORKDIR /var/lib/redline
VOLUME ["/var/lib/redline"]
EXPOSE 9900
# SIGTERM drains: halt, cancel every open order, flush the journal, exit 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/redline"]
CMD ["run", "--config", "/etc/redline/redline.toml"]
