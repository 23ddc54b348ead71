#!/bin/sh
# Compiles, once and offline, the libraries of the sandbox image that a job would otherwise have
# to build itself: the Rust crates (from the sources Debian's librust-*-dev packages put in
# /usr/share/cargo/registry) and Go's testify (from golang-github-stretchr-testify-dev), and
# unpacks the npm packages fetched at build time. Runs as root inside the image's root filesystem
# (a chroot for the offline build, a RUN step of the Dockerfile), with no network.
#
#     build-libraries.sh NPM_TARBALL_DIR
#
# Results, read by toolchains.py:
#   /opt/evol-libs/rust/lib<crate>.rlib   one per crate a job may `use` (rustc --extern)
#   /opt/evol-libs/rust/deps/             what those crates depend on (rustc -L dependency=)
#   /opt/evol-libs/go/                    compiled Go packages (compile -I, link -L)
#   /opt/evol-libs/node_modules/          npm packages (NODE_PATH)
set -eu
LIBS=/opt/evol-libs
NPM_TARBALLS=${1:-}
SCRATCH=$(mktemp -d /tmp/evol-libraries.XXXXXX)
export HOME="$SCRATCH" CARGO_HOME="$SCRATCH/cargo" GOCACHE="$SCRATCH/gocache"
mkdir -p "$LIBS/rust/deps" "$LIBS/go" "$LIBS/node_modules" "$CARGO_HOME" "$SCRATCH/crates/src"

# --- Rust: the crates a job may use, built by cargo against Debian's vendored registry.
# The crates a job may `use` are the [dependencies] below, and only they.
cat > "$CARGO_HOME/config.toml" <<'EOF'
[source.crates-io]
replace-with = "debian"
[source.debian]
directory = "/usr/share/cargo/registry"
[net]
offline = true
EOF
cat > "$SCRATCH/crates/Cargo.toml" <<'EOF'
[package]
name = "evol-libraries"
version = "0.0.0"
edition = "2021"

[dependencies]
rand = "0.8"
regex = "1"
serde = { version = "1", features = ["derive"] }
serde_json = "1"
itertools = "0.10"
md5 = "0.7"

[profile.release]
opt-level = 2
debug-assertions = true
EOF
: > "$SCRATCH/crates/src/lib.rs"
cargo build --release --offline --quiet --manifest-path "$SCRATCH/crates/Cargo.toml" --target-dir "$SCRATCH/target"
cp "$SCRATCH"/target/release/deps/*.rlib "$SCRATCH"/target/release/deps/*.so "$LIBS/rust/deps/"
for crate in $(sed -n '/^\[dependencies\]/,/^\[/s/^\([a-z_0-9-]*\) *=.*/\1/p' "$SCRATCH/crates/Cargo.toml"); do
    name=$(echo "$crate" | tr - _)
    # The one build of the crate itself (its dependencies have other names).
    found=$(ls "$LIBS"/rust/deps/lib"$name"-*.rlib | head -n 1)
    ln -sf "deps/$(basename "$found")" "$LIBS/rust/lib$name.rlib"
done

# --- Go: testify and what it imports, compiled in GOPATH mode from Debian's sources.
GO_PACKAGES="github.com/stretchr/testify/assert github.com/stretchr/testify/require"
export GO111MODULE=off GOPATH=/usr/share/gocode
DEPS=$(go list -deps -f '{{if not .Standard}}{{.ImportPath}}{{end}}' $GO_PACKAGES)
for package in $DEPS; do
    mkdir -p "$LIBS/go/$(dirname "$package")"
    go build -o "$LIBS/go/$package.a" "$package"
done

# --- npm packages, fetched by the host at build time (image.py), unpacked here.
if [ -n "$NPM_TARBALLS" ]; then
    for tarball in "$NPM_TARBALLS"/*.tgz; do
        [ -e "$tarball" ] || continue
        name=$(basename "$tarball" .tgz)
        mkdir -p "$LIBS/node_modules/$name"
        tar -xzf "$tarball" -C "$LIBS/node_modules/$name" --strip-components=1 --no-same-owner
    done
fi

chmod -R a+rX "$LIBS"
rm -rf "$SCRATCH"
