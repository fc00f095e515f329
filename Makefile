# pgha_exporter: make build | test | demo | lint | bench | fuzz | fixtures | package
GO       ?= go
BIN      := bin/pgha_exporter
VERSION  := $(shell git describe --tags --always --dirty 2>/dev/null || echo unknown)
REVISION := $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
BRANCH   := $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)
VPKG     := github.com/prometheus/common/version
LDFLAGS  := -s -w -X $(VPKG).Version=$(VERSION) -X $(VPKG).Revision=$(REVISION) -X $(VPKG).Branch=$(BRANCH) \
            -X $(VPKG).BuildUser=$(shell id -un)@$(shell hostname) -X $(VPKG).BuildDate=$(shell date -u +%Y%m%d-%H:%M:%S)
FUZZTIME ?= 5m
DEMO_ADDR ?= 127.0.0.1:9732

.PHONY: all build deps test unit e2e scenarios scenarios-doc lint bench fuzz fixtures demo demo-down clean package package-test

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/pgha_exporter

# Installs the Debian packages and Go modules the tests need (idempotent).
deps:
	bash .ci/install-deps.sh

# The one test command (CI runs it through .ci/run): unit, integration (real
# PostgreSQL, corosync, Nagios) and, under CI or with PGHA_E2E=1 as root, the
# live 3-node cluster suite.
test: deps lint build unit e2e

unit:
	$(GO) test -count=1 -timeout 30m $$($(GO) list ./... | grep -v /test/e2e)

# The live-cluster suite (test/lab): runs when CI is set or PGHA_E2E=1, as root.
e2e: build
	$(GO) test -count=1 -timeout 75m -v ./test/e2e

# Records the tutorial's 23 failover scenarios (and two planned actions) on the
# live lab into alerts/testdata/scenarios and regenerates docs/failover-scenarios.md
# (root; hours of lab time: SCENARIOS="1 3 sync-power" runs a subset).
SCENARIOS ?= all
scenarios: build
	bash test/scenarios/run.sh $(SCENARIOS)
	$(MAKE) scenarios-doc

# docs/failover-scenarios.md from the recordings (no lab needed).
scenarios-doc:
	$(GO) run ./test/scenarios/gendoc -o docs/failover-scenarios.md

lint:
	@fmt=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$fmt" ]; then echo "gofmt needed: $$fmt"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./crm/ ./collector/

# Every fuzzer of the module (go test -list finds them), FUZZTIME each
# (default 5m; FUZZTIME=30s for a quick pass).
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz: $$pkg $$f for $(FUZZTIME)"; \
	    $(GO) test $$pkg -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME); \
	  done; \
	done

# Regenerates crm/testdata/generated with the real crm_simulate/crm_mon.
fixtures:
	bash crm/testdata/generate.sh

# The live 3-node lab with an exporter per node and Prometheus (root, network
# namespaces); elsewhere, or with PGHA_DEMO=fixture, the exporter on a healthy
# cluster rendered by the real crm_mon.
demo: build
	$(GO) build -o bin/nsforward ./test/lab/nsforward
	DEMO_ADDR=$(DEMO_ADDR) bash test/lab/demo.sh

demo-down:
	-if [ -f $${PGHA_LAB_DIR:-/tmp/pgha-lab}/nsforward.pid ]; then kill $$(cat $${PGHA_LAB_DIR:-/tmp/pgha-lab}/nsforward.pid) 2>/dev/null; rm -f $${PGHA_LAB_DIR:-/tmp/pgha-lab}/nsforward.pid; fi
	bash test/lab/lab.sh down

# Builds dist/*.deb and dist/*.rpm with nfpm from packaging/nfpm.yaml, and the
# EL6 rpm (binary $(BIN)-el6 built by Go 1.23.12) from packaging/nfpm-el6.yaml
# (packaging/README.md).
package: build
	BIN='$(BIN)' GO='$(GO)' LDFLAGS='$(LDFLAGS)' sh packaging/package.sh

# Builds the packages, installs the .deb on this machine, checks it and purges it (root).
package-test:
	PGHA_PACKAGE_TEST=1 $(GO) test -count=1 -v -timeout 20m ./packaging/

clean:
	rm -rf bin dist
