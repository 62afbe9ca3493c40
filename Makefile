# Senim — the commands a new engineer needs. See README.md.
.PHONY: setup build test lint demo demo-servers bench image image-test prompts

CARGO ?= cargo

setup:
	@bash scripts/setup.sh

build: setup
	$(CARGO) build --workspace

lint: setup
	python3 scripts/check_structure.py
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# The whole suite: formatting, lints, unit, integration, pty scanner, screenshot and
# translation tests, then the call-centre's tests again with its data on PostgreSQL
# (scripts/test-postgres.sh). Screenshots land in target/screenshots/. The kill test SIGKILLs
# the senim-callcentre binary this same run builds.
test: lint
	SENIM_CALLCENTRE_BIN=$(abspath $(or $(CARGO_TARGET_DIR),target))/debug/senim-callcentre \
		$(CARGO) test --workspace
	SENIM_CALLCENTRE_BIN=$(abspath $(or $(CARGO_TARGET_DIR),target))/debug/senim-callcentre \
		CARGO=$(CARGO) bash scripts/test-postgres.sh

demo: setup
	@bash scripts/demo.sh

# Two call-centre servers on one PostgreSQL and one S3-protocol store, on this machine
# (docs/several-servers.md); `scripts/demo-two-servers.sh kill-a|stop` afterwards.
demo-servers: setup
	@bash scripts/demo-two-servers.sh start

bench: setup
	@bash scripts/bench.sh

# The screens' spoken prompts (assets/prompts): remakes those whose text changed in the .po
# files (tests/speech.rs fails until then); commit the result.
prompts: setup
	$(CARGO) run --quiet --bin senim-kiosk -- prompts make --dir assets/prompts

# The kiosk disk image (kiosk-image/README.md): release binary + Debian bookworm, as root.
# Writes $(IMAGE_DIR)/senim-kiosk.raw; AUTHORIZED_KEYS=FILE bakes in the technicians' SSH keys.
IMAGE_DIR ?= target/image
KIOSK_RELEASE = $(or $(CARGO_TARGET_DIR),target)/release/senim-kiosk

image:
	@bash scripts/setup.sh image
	$(CARGO) build --release --bin senim-kiosk
	bash kiosk-image/build.sh --binary $(KIOSK_RELEASE) --out $(IMAGE_DIR)

# Boots test images under QEMU with a software TPM2 (swtpm) (kiosk-image/test.sh): the kiosk
# starts and stays up, its data partition is LUKS2 sealed to that TPM2 and does not open on
# another machine; a blank kiosk enrols by a QR typed on the emulated scanner against the
# release senim-callcentre on the host and delivers a test appeal; a good update (RAUC bundle,
# other slot) installs, boots and is marked good; a broken one rolls back by itself. Builds its
# own images and bundles (serial console, 120 s trial limit, development update keys) in
# $(IMAGE_DIR). Not in `make test`. IMAGE_TEST_ARGS=--no-tpm adds a boot without a TPM2.
CALLCENTRE_RELEASE = $(or $(CARGO_TARGET_DIR),target)/release/senim-callcentre

image-test:
	@bash scripts/setup.sh image-test
	$(CARGO) build --release --bin senim-kiosk -p senim-kiosk --bin senim-callcentre -p senim-callcentre
	bash kiosk-image/test.sh --out $(IMAGE_DIR) --binary $(KIOSK_RELEASE) \
		--callcentre $(CALLCENTRE_RELEASE) $(IMAGE_TEST_ARGS)
