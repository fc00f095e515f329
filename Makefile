# pgha_exporter: make build | test | demo | lint | bench | fuzz | fixtures
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

.PHONY: all build deps test lint bench fuzz fixtures demo clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/pgha_exporter

# Installs the Debian packages and Go modules the tests need (idempotent).
deps:
	bash .ci/install-deps.sh

# The one test command (CI runs it through .ci/run).
test: deps lint build
	$(GO) test -count=1 -timeout 30m ./...

lint:
	@fmt=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$fmt" ]; then echo "gofmt needed: $$fmt"; exit 1; fi
	$(GO) vet ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./crm/ ./collector/

# Five minutes of fuzzing per parser (FUZZTIME=30s for a quick pass).
fuzz:
	$(GO) test ./crm -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME)

# Regenerates crm/testdata/generated with the real crm_simulate/crm_mon.
fixtures:
	bash crm/testdata/generate.sh

# Runs the exporter on a healthy 3-node pgsql cluster rendered by the real crm_mon (no cluster needed).
demo: build
	@echo "pgha_exporter serving a recorded 3-node cluster at http://$(DEMO_ADDR)/metrics (Ctrl-C stops)"
	$(BIN) --web.listen-address=$(DEMO_ADDR) \
	  --crm.mon-file=crm/testdata/generated/healthy/crm_mon.xml --crm.cib-file=crm/testdata/generated/healthy/cib.xml \
	  --crm.node-name=pgdb1 --no-collector.corosync --no-collector.postgres

clean:
	rm -rf bin dist
