# flux-orchestrator — the two commands people need: `make demo` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo
BIN := target/debug/flux-orchestrator
DEMO_PG_PORT ?= 55499
DEPLOY_VENV := target/deploy-venv
TEST_VENV := target/test-venv
TEST_OIDC := target/test-oidc

.PHONY: all build web web-test test lint fmt openapi screenshots demo demo-stop bench clean

all: build

build: web
	$(CARGO) build

## release: the optimised binary with the UI embedded (target/release/flux-orchestrator);
## build.rs recompiles the embed whenever web/dist changed
release: web
	$(CARGO) build --release

## web: the UI, built to web/dist (release builds embed it; debug builds serve it from disk)
web: web/node_modules/.package-lock.json
	cd web && npm run build

web/node_modules/.package-lock.json: web/package-lock.json
	cd web && npm ci --no-audit --no-fund

## web-test: UI lint and unit tests (types were checked by `web`'s build), then end-to-end
## tests in Chromium against the real server, PostgreSQL and the simulator
web-test: web
	cd web && npm run lint && npm test
	$(CARGO) build
	cd web && npm run e2e

## test: everything CI runs — formatting, lints, unit and integration tests, and the fleet
## benchmark in quick mode so it never rots (private PostgreSQL)
test: lint web-test $(DEPLOY_VENV)/.installed $(TEST_VENV)/.installed $(TEST_OIDC)/.installed
	scripts/with-pg.sh bash -c '$(CARGO) test --workspace --no-fail-fast && $(CARGO) test --bench fleet --bench hot'

## the pinned offline Kubernetes schema validator used by tests/it/deploy_manifests.rs
$(DEPLOY_VENV)/.installed: deploy/requirements-test.txt
	python3 -m venv $(DEPLOY_VENV)
	$(DEPLOY_VENV)/bin/pip install --quiet --disable-pip-version-check -r deploy/requirements-test.txt
	touch $@

## schemathesis for tests/it/api_fuzz.rs (API fuzzing and conformance) and openapi-python-client
## for tests/it/clients.rs (a generated client driven against the server), pinned
$(TEST_VENV)/.installed: tests/fuzz/requirements.txt
	python3 -m venv $(TEST_VENV)
	$(TEST_VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/fuzz/requirements.txt
	touch $@

## node-oidc-provider (OpenID Certified) for tests/it/oidc_login.rs, pinned by its package-lock.json
$(TEST_OIDC)/.installed: tests/oidc/package.json tests/oidc/package-lock.json
	mkdir -p $(TEST_OIDC)
	cp tests/oidc/package.json tests/oidc/package-lock.json $(TEST_OIDC)/
	cd $(TEST_OIDC) && npm ci --no-audit --no-fund
	touch $@

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

## bench: the fleet benchmark suite (every scenario, table + target/bench-results/fleet.json),
## in release mode against a private durable PostgreSQL
bench:
	PG_DURABLE=1 scripts/with-pg.sh $(CARGO) bench --bench fleet

## openapi: regenerate the committed spec from the code
openapi:
	$(CARGO) run --quiet -- openapi > openapi/openapi.json.tmp && mv openapi/openapi.json.tmp openapi/openapi.json

## screenshots: copy the main views' light-theme screenshots of the last `npm run e2e` into docs/
SHOTS := overview resources-default resources-failed detail-history detail-graph workloads clusters-watches signin timeline overview-asof notifications rollouts reliability
screenshots:
	mkdir -p docs/screenshots
	for s in $(SHOTS); do cp web/e2e/screenshots/$$s-light.png docs/screenshots/$$s.png; done

## demo: the real server with a private PostgreSQL under .data/ and simulated clusters
demo: build
	scripts/demo.sh

demo-stop:
	scripts/pg.sh stop .data/pg

clean:
	$(CARGO) clean
	rm -rf .data
