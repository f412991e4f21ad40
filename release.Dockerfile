# The release image, built by goreleaser (.goreleaser.yaml, dockers_v2) from the binaries it has
# already built, one per platform under $TARGETPLATFORM/. The runtime stage is the Dockerfile's,
# instruction for instruction (release_test.go checks it): static, non-root, distroless.
FROM gcr.io/distroless/static-debian12:nonroot
ARG TARGETPLATFORM
COPY $TARGETPLATFORM/vastwatch /usr/local/bin/vastwatch
# The state dir must exist, owned by the runtime user, before it becomes a volume: distroless has
# no shell to create it, so it is copied from the image's own empty home of that user.
COPY --from=gcr.io/distroless/static-debian12:nonroot --chown=65532:65532 /home/nonroot /var/lib/vastwatch
USER 65532:65532
VOLUME ["/var/lib/vastwatch"]
EXPOSE 9861
ENTRYPOINT ["/usr/local/bin/vastwatch"]
CMD ["run", "--config.file=/etc/vastwatch/config.yaml", "--state.dir=/var/lib/vastwatch"]
