# syntax=docker/dockerfile:1
# vastwatch as a static binary on distroless, running as a non-root user.
#
#   docker build -t vastwatch \
#     --build-arg VERSION=$(git describe --tags --always --dirty) \
#     --build-arg REVISION=$(git rev-parse --short HEAD) .
#   docker run -p 9861:9861 vastwatch run --simulate
#
# The build flags are the Makefile's build target's; deploy/docker_test.go builds the binary
# with the flags parsed from this file and checks that they match and the result is static.

ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
ARG TARGETOS=linux
ARG TARGETARCH=amd64
ARG VERSION=dev
ARG REVISION=unknown
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags "-s -w -X github.com/prometheus/common/version.Version=${VERSION} -X github.com/prometheus/common/version.Revision=${REVISION}" \
      -o /out/vastwatch ./cmd/vastwatch
# The state dir must exist, owned by the runtime user, before it becomes a volume: distroless
# has no shell to create it later.
RUN mkdir -p /out/state

# distroless/static: CA certificates, tzdata and /etc/passwd with nonroot (65532), nothing else.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/vastwatch /usr/local/bin/vastwatch
COPY --from=build --chown=65532:65532 /out/state /var/lib/vastwatch
USER 65532:65532
VOLUME ["/var/lib/vastwatch"]
EXPOSE 9861
ENTRYPOINT ["/usr/local/bin/vastwatch"]
CMD ["run", "--config.file=/etc/vastwatch/config.yaml", "--state.dir=/var/lib/vastwatch"]
