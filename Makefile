# Senim — the commands a new engineer needs. See README.md.
.PHONY: setup build test lint demo bench

CARGO ?= cargo

setup:
	@bash scripts/setup.sh

build: setup
	$(CARGO) build --workspace

lint: setup
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# The whole suite: formatting, lints, unit, integration, pty scanner, screenshot and
# translation tests. Screenshots land in target/screenshots/.
test: lint
	$(CARGO) test --workspace

demo: setup
	@bash scripts/demo.sh

bench: setup
	@bash scripts/bench.sh
