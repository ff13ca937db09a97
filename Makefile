# wristband: `make test` is the single entry point for checks (CI runs .ci/run -> make test).
SHELL := /usr/bin/env bash
.DEFAULT_GOAL := help

.PHONY: help run test bench fuzz tools lint fmt build-release clean-tools

help: ## List targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

run: ## Run the API locally: DynamoDB Local :8000, SES emulator :8005, cargo lambda watch :9000 (WATCH_PORT overrides)
	bash scripts/run.sh

test: ## fmt, clippy, unit/integration/e2e tests on free ports, fuzz smoke pass, arm64 artifacts (sam build, zips, qemu), cfn-lint
	bash scripts/test.sh

bench: ## Benchmarks vs the Flask peer (../shared/peer): criterion, HTTP load, cold start, zips
	bash scripts/bench.sh

fuzz: ## cargo fuzz: every target for FUZZ_SECONDS (default 600) each; regressions first
	bash scripts/fuzz.sh $${FUZZ_SECONDS:-600}

tools: ## Install cargo-lambda, cfn-lint, SAM CLI, DynamoDB Local, the SES emulator, Java 17 into .tools/ (idempotent)
	bash scripts/tools.sh

lint: ## cargo fmt --check and clippy -D warnings
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt: ## Format the code
	cargo fmt --all

build-release: tools ## Release zips for arm64 Lambda (target/lambda/<fn>/bootstrap.zip)
	source scripts/tools.sh && cargo lambda build --release --arm64 --output-format zip

clean-tools: ## Remove the installed tools (.tools/)
	rm -rf .tools
