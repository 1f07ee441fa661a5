# The cluster-wide controller. Built from the repository root:
#   docker build -f build/controller.Dockerfile -t quay.io/frr-k8s-evpn/controller .
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/controller ./cmd/controller

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/controller /controller
ENTRYPOINT ["/controller"]
