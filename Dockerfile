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
 && useradd --system --uid 10001 --home-dir /var/lib/drawbridge --create-home drawbridge
COPY --from=build /out/drawbridge /usr/local/bin/drawbridge
USER drawbridge
WORKDIR /var/lib/drawbridge
# Mount the config at /etc/drawbridge/drawbridge.yaml and keep data_dir on a
# volume. Inside a container the listener is not on loopback, so client
# tokens are required (auth: none is refused); set allowed_hosts to the name
# clients use.
VOLUME ["/var/lib/drawbridge"]
EXPOSE 8750
ENTRYPOINT ["drawbridge"]
CMD ["serve", "-c", "/etc/drawbridge/drawbridge.yaml"]
