# prodsafe as a container image: a static (musl) binary on a distroless,
# non-root runtime with nothing else in it.
#
#   docker build -t prodsafe .
#   docker run --rm -v "$PWD:/src" prodsafe check /src
#   docker run --rm -v "$PWD:/src" --user "$(id -u):$(id -g)" prodsafe fix /src
#
# The image has no git, so `fix --branch` needs the binary (release or
# cargo install); `fix --diff --patch-dir` works here.

FROM rust:1.90-bookworm AS build
# musl-tools: the C parts (tree-sitter grammars) compile against musl too.
RUN apt-get update \
 && apt-get install -y --no-install-recommends musl-tools=1.2.3-1 \
 && rm -rf /var/lib/apt/lists/* \
 && rustup target add "$(uname -m)-unknown-linux-musl"
WORKDIR /build
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY templates ./templates
RUN cargo build --release --locked --target "$(uname -m)-unknown-linux-musl" \
 && cp "target/$(uname -m)-unknown-linux-musl/release/prodsafe" /prodsafe \
 && /prodsafe --version

FROM gcr.io/distroless/static-debian12:nonroot
LABEL org.opencontainers.image.title="prodsafe" \
      org.opencontainers.image.description="Find and fix what makes the build succeed but production runtime break in container monorepos" \
      org.opencontainers.image.source="https://github.com/prodsafe/prodsafe" \
      org.opencontainers.image.licenses="MIT"
COPY --from=build /prodsafe /usr/local/bin/prodsafe
USER 65532:65532
WORKDIR /src
ENTRYPOINT ["/usr/local/bin/prodsafe"]
CMD ["check", "/src"]
