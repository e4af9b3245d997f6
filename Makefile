# dspex — the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Debian packages the project needs, as "command:package" pairs (installed only when the command is missing).
APT_NEEDS := python3:python3 tmux:tmux promtool:prometheus chromium:chromium redis-server:redis-server

SUDO := $(shell [ "$$(id -u)" = 0 ] && echo "" || (command -v sudo >/dev/null && echo sudo || echo MISSING))

.PHONY: help deps apt-deps node-deps build typecheck lint test demo bench soak soak-vitest clean

help:
	@echo "make demo   live dashboard over a real pool under load (the main job)"
	@echo "make test   deps, typecheck, lint, build and the test suite"
	@echo "make bench  full benchmarks (writes bench-results/*.json)"
	@echo "make soak   one-hour stability run with the full stack: docs/SOAK_REPORT.md (DURATION=2m for a short one; not part of make test)"

deps: apt-deps node-deps

# Idempotent: checks each command first; runs apt-get update once, only when something is missing.
apt-deps:
	@missing=""; for pair in $(APT_NEEDS); do cmd=$${pair%%:*}; pkg=$${pair##*:}; \
	  command -v $$cmd >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$(SUDO)" = "MISSING" ]; then echo "Missing packages:$$missing. Run: sudo apt-get update && sudo apt-get install -y$$missing"; exit 1; fi; \
	  echo "Installing:$$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# npm ci only when the lock file changed since the last install (fast when present).
node-deps: node_modules/.installed

node_modules/.installed: package-lock.json package.json
	npm ci --no-audit --no-fund
	@touch $@

build: node-deps
	npm run --silent build
	@chmod +x dist/cli/main.js

typecheck: node-deps
	npx tsc --noEmit -p tsconfig.json
	npx tsc -p tsconfig.web.json

lint: node-deps
	npx eslint .

test: deps typecheck lint build
	@mkdir -p .tmp
	npx vitest run --reporter=default --reporter=json --outputFile=.tmp/vitest.json
	@node -e "const r=JSON.parse(require('fs').readFileSync('.tmp/vitest.json','utf8')); console.log('tests: ' + r.numPassedTests + ' passed, ' + r.numFailedTests + ' failed' + (r.numPendingTests ? ', ' + r.numPendingTests + ' skipped' : ''))"
	@# Smoke runs of every benchmark in one summary (seconds each; fleet is skipped without redis-server); full figures: make bench
	node dist/cli/main.js bench all --quick

demo: deps build
	node dist/cli/main.js monitor --demo

bench: deps build
	mkdir -p bench-results
	node dist/cli/main.js bench all --json bench-results/all.json

# DURATION: how long (e.g. 2m, 1h; default 1h); writes docs/SOAK_REPORT.md and docs/soak/*.svg.
# SOAK_MINUTES=N is still accepted for the older vitest soak (test/soak/pool.soak.test.ts):
# make soak-vitest SOAK_MINUTES=10.
DURATION ?= $(if $(SOAK_MINUTES),$(SOAK_MINUTES)m,1h)
soak: deps build
	node --expose-gc dist/cli/main.js soak --duration $(DURATION) --out docs

soak-vitest: deps build
	npx vitest run --config vitest.soak.config.ts

clean:
	rm -rf dist node_modules bench-results
