# Vigil — run `make help` for the list of targets.
#
# Every target that documents itself carries a `## ` comment on its rule line;
# `make help` prints those.

SHELL        := /bin/bash
.DEFAULT_GOAL := help

ROOT    := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
SHARED  ?= $(abspath $(ROOT)/../shared)
GO      ?= go
BIN     := $(ROOT)/bin/vigil

VERSION ?= $(shell git -C $(ROOT) describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git -C $(ROOT) rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT)

FUZZTIME ?= 60s

# golangci-lint from PATH, or where `go install` (and .ci/run) puts it.
GOLANGCI_LINT ?= $(or $(shell command -v golangci-lint 2>/dev/null),$(shell $(GO) env GOPATH)/bin/golangci-lint)

# Test data beside the checkout (see README "Development"). Each variable is
# exported only when its directory exists and the caller has not set it.
ifneq ($(wildcard $(SHARED)/falco-upstream),)
export VIGIL_FALCO_RULES_DIR ?= $(SHARED)/falco-upstream
endif
ifneq ($(wildcard $(SHARED)/conformance),)
export VIGIL_FALCO_CONFORMANCE_DIR ?= $(SHARED)/conformance
endif
ifneq ($(wildcard $(SHARED)/spec),)
export VIGIL_SPEC_DIR ?= $(SHARED)/spec
endif

.PHONY: help build generate test test-privileged lint fuzz bench bench-overhead run clean

help: ## List the targets with a one-line description
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## Build bin/vigil with version info from git describe
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/vigil

generate: ## Run go generate ./... (bpf2go and other generated code)
	$(GO) generate ./...

test: ## Run go test ./... with the ../shared test data when present
	$(GO) test ./...

test-privileged: ## Run the root-only tests (TestPrivileged*) against the real kernel
	@if [ "$$(id -u)" != 0 ]; then echo "test-privileged: must run as root" >&2; exit 2; fi
	$(GO) test -count=1 -run 'Privileged' ./...

lint: ## Run golangci-lint (config in .golangci.yaml)
	$(GOLANGCI_LINT) run ./...

fuzz: ## Run every fuzz target for FUZZTIME (default 60s) each
	FUZZTIME=$(FUZZTIME) GO=$(GO) bash $(ROOT)/.ci/fuzz

bench: ## Run all benchmarks with allocation counts
	$(GO) test -run '^$$' -bench . -benchmem ./...

bench-overhead: ## Slowdown of workloads under each vigil driver and auditd, interleaved; procscan CPU; RSS churn (root; flags in BENCH_FLAGS)
	@if [ "$$(id -u)" != 0 ]; then echo "bench-overhead: must run as root" >&2; exit 2; fi
	@cd $(ROOT) && $(GO) run ./bench/overhead $(BENCH_FLAGS)

run: build ## Build, then run the sensor (bin/vigil, as root) with its embedded defaults
	$(BIN)

clean: ## Remove bin/ and coverage output
	rm -rf $(ROOT)/bin $(ROOT)/coverage.out
