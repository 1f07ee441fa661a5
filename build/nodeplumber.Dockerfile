# The node plumber: netlink only, no userland tool needed.
#   docker build -f build/nodeplumber.Dockerfile -t quay.io/frr-k8s-evpn/nodeplumber .
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/nodeplumber ./cmd/nodeplumber

FROM gcr.io/distroless/static-debian12
COPY --from=build /out/nodeplumber /nodeplumber
ENTRYPOINT ["/nodeplumber"]
