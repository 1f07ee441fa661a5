# The router: Debian's FRR of the version pinned in build/frr/version (the one every
# test layer and the lab run, from the same suite: hack/frr/rootfs.sh), frr-reload.py,
# our reloader, and the script that starts FRR inside the plumber's netns.
#   docker build -f build/router.Dockerfile --build-arg FRR_VERSION=$(cat build/frr/version) \
#     -t quay.io/frr-k8s-evpn/router .
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/reloader ./cmd/reloader

FROM debian:forky-slim
ARG FRR_VERSION
RUN test -n "$FRR_VERSION" \
 && apt-get update \
 && apt-get install -y --no-install-recommends "frr=$FRR_VERSION-*" "frr-pythontools=$FRR_VERSION-*" iproute2 util-linux \
 && rm -rf /var/lib/apt/lists/* \
 && printf 'service integrated-vtysh-config\n' > /etc/frr/vtysh.conf \
 && printf 'frr defaults datacenter\n' > /etc/frr/frr.conf \
 && chown -R frr:frr /etc/frr
COPY build/frr/daemons /etc/frr/daemons
COPY --from=build /out/reloader /usr/local/bin/reloader
COPY build/router-start build/frr-stop /usr/local/bin/
ENTRYPOINT ["/usr/local/bin/router-start"]
