# syntax=docker/dockerfile:1

# Build stage: a static binary, no cgo, no local paths baked in.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/archiver ./cmd/archiver

# Runtime stage: distroless, no shell, runs as the unprivileged "nonroot" user
# (uid/gid 65532). Configuration and credentials come from the environment at
# run time (DATABASE_URL, ARCHIVER_*, ALIBABA_CLOUD_*); nothing secret is baked in.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/archiver /archiver
USER 65532:65532
EXPOSE 9090
ENTRYPOINT ["/archiver"]
CMD ["run"]
