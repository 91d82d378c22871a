# fleetres-server on the embedded default (SQLite), release build.
#
#   docker build -t fleetres .
#   docker run --network host -v fleetres-data:/data fleetres
#
# Without authentication the service only listens on loopback (SPEC §9), so
# run it with --network host (it then answers on the host's 127.0.0.1:8080)
# until the security issue adds auth and LISTEN_ADDR may be opened.
# Configuration: DATABASE_URL (default /data/fleetres.db; a postgres:// URL for
# PostgreSQL), REDIS_ADDR, PORT, LOG_LEVEL (see README and docs/operations.md).
FROM debian:12 AS build
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        meson ninja-build pkg-config gcc python3 libsqlite3-dev libpq-dev libcjson-dev \
        librdkafka-dev libcivetweb-dev libhiredis-dev libcurl4-openssl-dev libssl-dev \
        libcriterion-dev python3-pytest \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN rm -rf build* && meson setup build-release --buildtype=release -Db_ndebug=true \
    && ninja -C build-release service/fleetres-server

FROM debian:12
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        libsqlite3-0 libpq5 libcjson1 libcivetweb1 libhiredis0.14 libssl3 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home-dir /data --create-home fleetres
COPY --from=build /src/build-release/service/fleetres-server /usr/local/bin/fleetres-server
USER fleetres
WORKDIR /data
ENV DATABASE_URL=/data/fleetres.db PORT=8080 LOG_LEVEL=info
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/fleetres-server"]
