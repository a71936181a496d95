# Tidings recipes. Run them through ./dev (which installs `just` with the npm packages), e.g.
# `./dev demo`, `./dev test`; with `just` on your PATH, `just demo` works the same.

set shell := ["bash", "-euo", "pipefail", "-c"]

# List the recipes.
default:
    @just --list

# Start the demo: builds the web console, then the BFF on http://127.0.0.1:8080 (the console at
# /) over the embedded simulated cloud.
[doc("Build the console and start the BFF on http://127.0.0.1:8080 over a simulated cloud")]
demo *ARGS:
    npm run build -w web-client/console
    cargo run -p tidings -- serve {{ARGS}}

# Run the simulator alone on http://127.0.0.1:8081.
sim *ARGS:
    cargo run -p tidings -- sim {{ARGS}}

# Run every test: lints, Rust unit and integration tests, the @trpc/client conformance suite,
# the TypeScript bindings, the Python JSON-RPC clients, the web client, the packages as a
# newcomer's app installs them, and Tidings against real Keystone and Glance.
[doc("Run every test")]
test: lint test-rust fuzz-short test-conformance test-bindings test-python test-web test-consumer test-deploy test-openstack

# The Redis bus tests need a real redis-server; without one they fail, saying so.
# Rust unit and integration tests (nextest when installed).
test-rust: redis-server
    if cargo nextest --version >/dev/null 2>&1; then \
        cargo nextest run --workspace --no-fail-fast; \
    else \
        cargo test --workspace --no-fail-fast; \
    fi

# Fuzz the engine's request decoding briefly (part of `test`): every target for 500,000 runs
# from the committed seeds only, with a fixed seed, so that the run is the same on every machine
# (a regression pass over what was explored here; `just fuzz` explores further).
[doc("Fuzz every target for 500,000 runs from the committed seeds (part of test)")]
fuzz-short: (_fuzz "0" "fresh")

# Fuzz the engine's request decoding (server/rpc/fuzz): each target for SECONDS, all targets or
# the ones named (trpc_http, trpc_ws, jsonrpc, raw_input), e.g. `just fuzz 600 trpc_http`. What
# a run finds is kept in server/rpc/fuzz/target/corpus/<target>/ and the next run starts there.
# Stable Rust is enough: without a sanitizer (`-s none`) cargo-fuzz needs no nightly flags. A
# crash fails the recipe and leaves its input in server/rpc/fuzz/artifacts/<target>/; replay it
# with `cd server/rpc/fuzz && cargo fuzz run -s none <target> <file>`.
[doc("Fuzz the engine's request decoding for SECONDS per target (all, or those named)")]
fuzz SECONDS="600" *TARGETS: (_fuzz SECONDS "keep" TARGETS)

_fuzz SECONDS CORPUS *TARGETS:
    command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
    cd server/rpc/fuzz && cargo fuzz build -s none
    cd server/rpc/fuzz && for target in {{ if TARGETS == "" { "$(cargo fuzz list)" } else { TARGETS } }}; do \
        work="target/corpus/$target"; log="target/fuzz-$target.log"; \
        if [ "{{CORPUS}}" = fresh ]; then work="target/corpus-short/$target"; rm -rf "$work"; fi; \
        mkdir -p "$work"; \
        limit="-max_total_time={{SECONDS}}"; \
        if [ "{{CORPUS}}" = fresh ]; then limit="-runs=500000 -seed=1"; fi; \
        if ! cargo fuzz run -s none "$target" "$work" "corpus/$target" -- \
            $limit -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
            >"$log" 2>&1; then \
            tail -n 60 "$log"; \
            echo "fuzz target $target failed: its input is in server/rpc/fuzz/artifacts/$target/"; \
            exit 1; \
        fi; \
        echo "$target: $(grep -E '^Done' "$log") ($(grep -oE 'average_exec_per_sec: *[0-9]+' "$log"))"; \
    done

# Installs redis-server (Debian's package; as root, as in CI) when it is missing.
redis-server:
    command -v redis-server >/dev/null || { apt-get update && apt-get install -y redis-server; }

# Installs nginx (Debian's package; as root, as in CI) when it is missing.
nginx:
    command -v nginx >/dev/null || test -x /usr/sbin/nginx || { apt-get update && apt-get install -y nginx; }

# The deployment the README documents (docs/deploy/nginx.conf): Debian's nginx on a port other
# than 80 in front of two instances sharing one redis-server, the console's browser end-to-end
# suite run through it; the README's former configuration is shown to refuse the login. Every
# process is a child under target/deploy/, stopped by its pid.
[doc("The documented nginx deployment in front of two instances, the browser suite through it")]
test-deploy: redis-server nginx
    cargo build -p tidings
    npm run build -w web-client/console
    TIDINGS_BIN="$PWD/target/debug/tidings" node tests/deploy/nginx.mjs

# The real @trpc/client against a real server.
test-conformance:
    cargo build -p tidings
    TIDINGS_BIN="$PWD/target/debug/tidings" npm test -w tests/conformance

# JSON-RPC 2.0 from Python (requests + websockets) against a real server; a venv in target/.
test-python:
    test -x target/python-venv/bin/python || python3 -m venv target/python-venv
    target/python-venv/bin/pip install --quiet --disable-pip-version-check -r tests/python/requirements.txt
    cargo build -p tidings
    TIDINGS_BIN="$PWD/target/debug/tidings" PYTHONDONTWRITEBYTECODE=1 \
        target/python-venv/bin/python -m pytest -q -p no:cacheprovider tests/python

# The web client: its build and the console's (which installs it by name), its unit and type
# tests and publint, and the console end to end in headless Chromium (two tabs sharing one
# stream) against a real server.
[doc("The web client's and the console's builds, unit and type tests, and the browser suite")]
test-web:
    cargo build -p tidings
    npm run build -w web-client/console
    npm test -w @tidings/web-client
    TIDINGS_BIN="$PWD/target/debug/tidings" npm run test:e2e -w @tidings/web-client

# Both packages packed as published, installed with plain `npm install` into fresh apps in a
# temporary directory (one per tRPC set the registry serves: classic @trpc/react-query 11.19.0,
# @trpc/tanstack-react-query 11.22.1, the client alone 11.25.2), type-checked, built with Vite
# and run in headless Chromium against a real server; the client-only app from Node too.
[doc("Pack both packages, install them into a fresh app per tRPC set, build and run each")]
test-consumer:
    cargo build -p tidings
    TIDINGS_BIN="$PWD/target/debug/tidings" node --test --test-concurrency=1 tests/consumer/

# The real-service tier: real Keystone and real Glance from PyPI (tests/openstack/requirements.txt,
# in target/openstack-venv, installed again only when that file changes), on SQLite with fernet
# keys and Glance's file store under target/openstack-run/, served by gunicorn on ports they
# pick; the simulator behind that Keystone for Nova, Cinder and Neutron; Tidings in front, driven
# by pytest through JSON-RPC and the stock openstack command. Every process is a child stopped
# by its pid (tests/openstack/stack.py); `target/openstack-venv/bin/python
# tests/openstack/stack.py` brings the same stack up by hand.
[doc("Tidings against real Keystone and Glance from PyPI, the simulator behind that Keystone")]
test-openstack:
    if ! cmp -s tests/openstack/requirements.txt target/openstack-venv/installed.txt; then \
        rm -rf target/openstack-venv; \
        python3 -m venv target/openstack-venv; \
        target/openstack-venv/bin/pip install --quiet --disable-pip-version-check \
            -r tests/openstack/requirements.txt; \
        cp tests/openstack/requirements.txt target/openstack-venv/installed.txt; \
    fi
    cargo build -p tidings
    TIDINGS_BIN="$PWD/target/debug/tidings" PYTHONDONTWRITEBYTECODE=1 \
        target/openstack-venv/bin/python -m pytest -q -p no:cacheprovider tests/openstack

# Regenerate the TypeScript bindings package (bindings/) from the server's procedure registry.
bindings:
    cargo run -p tidings -- export-bindings

# The committed bindings are what the registry produces, and @trpc/client infers from them.
test-bindings:
    cargo run -p tidings -- export-bindings --check
    npm test -w bindings

# Formatting and clippy, warnings as errors; ESLint and Prettier over the web client and the
# bindings' tests (not the generated bindings: see .prettierignore and eslint.config.js); and
# every recipe's description in `./dev` reads as a sentence of its own (just shows a recipe's
# last comment line, or its doc attribute).
[doc("Formatting, clippy, ESLint and Prettier, warnings as errors")]
lint:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings
    npm run lint
    {{just_executable()}} --list | awk 'NR > 1 && !/# [A-Z]/ { print "recipe description cut short: " $0; bad = 1 } END { exit bad }'

# Format the Rust code.
fmt:
    cargo fmt --all

# The benchmark (release build): Tidings against a bare axum ceiling and a stock tRPC v11 Node
# server, fan-out, queries, herd and worker, and the fan-out over two instances sharing one Redis
# (`cluster`); prints the tables and writes BENCHMARKS.md. Not part of `test`. Options go to
# `tidings-bench run` (e.g. `just bench --only queries`; `just bench --only cluster` rewrites
# only the scale-out section).
[doc("The benchmark against a bare ceiling and stock tRPC; writes BENCHMARKS.md")]
bench *ARGS: redis-server
    cargo build --release -p tidings -p tidings-bench
    ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"; \
        target/release/tidings-bench run {{ARGS}}

# A bounded soak of a real server (release build, over a separate simulator, all on 127.0.0.1):
# SSE and WebSocket subscribers coming and going, some that stop reading, mutations, queries and
# upstream faults, for SECONDS of churn after a warm-up; samples the server's RSS and open file
# descriptors and fails when they did not come back within bounds. `just soak 60` for a quick
# run; further options go to `tidings-bench soak` (e.g. `just soak 600 --rss-factor 1.3`).
[doc("A bounded soak of a real server: churn, faults, then a connection flood")]
soak SECONDS="600" *ARGS:
    cargo build --release -p tidings -p tidings-bench
    ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"; \
        target/release/tidings-bench soak --duration {{SECONDS}}s {{ARGS}}
