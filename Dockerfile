# Drawbridge: a local MCP reverse proxy and security firewall.
# go-sqlite3 needs cgo, so the build stage has gcc and the runtime has glibc.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -trimpath -ldflags="-s -w" -o /out/drawbridge ./cmd/drawbridge

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 drawbridge \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/drawbridge --create-home drawbridge \
 && chmod 0700 /var/lib/drawbridge
COPY --from=build /out/drawbridge /usr/local/bin/drawbridge
# Not root: a numeric user, so runAsNonRoot can check it.
USER 10001:10001
WORKDIR /var/lib/drawbridge
# data_dir (state.db, audit.db, secrets.db, master.key, certs/, admin.token)
# lives on this volume: the ledger and the vault outlive the container.
VOLUME ["/var/lib/drawbridge"]
# 8750: the MCP listener (set listen: 0.0.0.0:8750 in the config; inside a
# container it is not on loopback, so client tokens are required and auth:
# none is refused; set allowed_hosts to the name clients use).
# 8751: the admin listener (console, API, /metrics). It only ever listens on
# loopback, so it is reached with --network host or from inside the
# container (docker exec … drawbridge approvals), never from the network.
EXPOSE 8750 8751
# Liveness only: /healthz answers while the proxy serves, whatever its
# upstreams do (an upstream outage must not restart the proxy).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["drawbridge", "health", "-c", "/etc/drawbridge/drawbridge.yaml"]
# Mount the config at /etc/drawbridge/drawbridge.yaml.
ENTRYPOINT ["drawbridge"]
CMD ["serve", "-c", "/etc/drawbridge/drawbridge.yaml", "--data-dir", "/var/lib/drawbridge"]
