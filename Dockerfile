# Tollgate container image: a static binary on an empty base.
#
#   docker build -t tollgate --build-arg VERSION=v0.1.0 --build-arg COMMIT=$(git rev-parse HEAD) .
#   docker run -p 4566:4566 -p 9180:9180 -v tollgate-data:/data \
#     -e TOLLGATE_ACCESS_KEY_ID=… -e TOLLGATE_SECRET_ACCESS_KEY=… tollgate
#
# Off loopback the management API refuses to start with the built-in test/test credentials:
# pass TOLLGATE_ACCESS_KEY_ID and TOLLGATE_SECRET_ACCESS_KEY, or mount a credentials file and
# set TOLLGATE_CREDENTIALS_FILE. The data directory (SQLite store and its generated master key)
# is the /data volume.

# --- build: the same package the README installs (./cmd/tollgate), pure Go (modernc SQLite) ---
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=devel
ARG COMMIT=unknown
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
      -o /out/tollgate ./cmd/tollgate \
 && mkdir -p /out/data

# --- run: nothing but the binary, CA roots (HTTPS backends) and the data directory ---
FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/tollgate /usr/local/bin/tollgate
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
ENV TOLLGATE_DATA_DIR=/data \
    TOLLGATE_ADDR=0.0.0.0:4566 \
    TOLLGATE_STATUS_ADDR=0.0.0.0:9180 \
    TOLLGATE_LOG_FORMAT=json
VOLUME ["/data"]
EXPOSE 4566 9180
HEALTHCHECK --interval=10s --timeout=4s --start-period=30s --retries=3 CMD ["/usr/local/bin/tollgate", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/tollgate"]
CMD ["serve"]
