# Warden build, run and test entry points. `make run` and `make test` are all a new machine needs.
SHELL := /bin/bash
.DEFAULT_GOAL := build

GO        ?= go
ROOT      := $(CURDIR)
TOOLS     := $(ROOT)/.tools
# Every tool version is pinned once, in tools/go.mod (ocb, mdatagen, telemetrygen); local-kms is
# pinned in go.mod and served on 127.0.0.1 only by internal/kmstest/cmd/local-kms (upstream's
# binary listens on every interface and checks no credentials).
OCB          := $(TOOLS)/builder
MDATAGEN     := $(TOOLS)/mdatagen
TELEMETRYGEN := $(TOOLS)/telemetrygen
LOCALKMS     := $(TOOLS)/local-kms
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT := $(TOOLS)/golangci-lint
# chDB, the ClickHouse engine as a library, for the ClickHouse tests (tests/chfront): the npm
# package's libchdb.so, fetched once into .tools/chdb. The tests find it through WARDEN_CHDB_LIB.
CHDB_VERSION := 26.7.3-stable.1
CHDB_PACKAGE := @chdb/lib-linux-$(if $(filter aarch64 arm64,$(shell uname -m)),arm64,x64)-gnu@$(CHDB_VERSION)
CHDB_LIB     := $(TOOLS)/chdb/libchdb.so
CHDB_ENV      = WARDEN_CHDB_LIB=$$([ -f $(CHDB_LIB) ] && echo $(CHDB_LIB))

COLLECTOR := bin/otelcol-warden
WARDENCTL := bin/wardenctl
CONFIG    ?= distribution/config.yaml

# Sources that go into the collector: our module's non-test Go files and the manifests.
GO_SOURCES := $(shell find . -name '*.go' -not -name '*_test.go' -not -path './_build/*' -not -path './tools/*' -not -path './.tools/*' -not -path './tests/*' 2>/dev/null)

TEST_FLAGS ?= -race -timeout 20m
E2E_FLAGS  ?= -timeout 40m

.PHONY: build run test unit-test alloc-test e2e chdb telemetrygen precision bench bench-pipeline fuzz generate lint fmt verify-manifest tools clean validate

## tools: build the pinned tools into .tools/
tools: $(OCB) $(MDATAGEN) $(TELEMETRYGEN) $(LOCALKMS)

$(OCB): tools/go.mod tools/go.sum
	cd tools && $(GO) build -o $(TOOLS)/ go.opentelemetry.io/collector/cmd/builder
$(MDATAGEN): tools/go.mod tools/go.sum
	cd tools && $(GO) build -o $(TOOLS)/ go.opentelemetry.io/collector/cmd/mdatagen
$(TELEMETRYGEN): tools/go.mod tools/go.sum
	cd tools && $(GO) build -o $(TOOLS)/ github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen
$(LOCALKMS): go.mod go.sum $(wildcard internal/kmstest/*.go internal/kmstest/cmd/local-kms/*.go)
	$(GO) build -o $(LOCALKMS) ./internal/kmstest/cmd/local-kms

## chdb: libchdb.so for the ClickHouse tests, with npm (about 180 MB, once); without npm or its
## registry it says so and those tests are skipped
chdb:
	@[ -f $(CHDB_LIB) ] && exit 0; \
	if [ "$$(uname -s)" != Linux ] || ! command -v npm >/dev/null; then \
		echo "chdb: needs Linux and npm; the ClickHouse tests will be skipped"; exit 0; fi; \
	echo "chdb: fetching $(CHDB_PACKAGE) with npm (about 180 MB, once)"; \
	mkdir -p $(dir $(CHDB_LIB)) && tmp=$$(mktemp -d $(dir $(CHDB_LIB))fetch.XXXXXX) && \
	if (cd $$tmp && npm pack --silent $(CHDB_PACKAGE) >/dev/null && tar -xzf *.tgz package/libchdb.so); then \
		mv $$tmp/package/libchdb.so $(CHDB_LIB); \
	else echo "chdb: npm could not fetch $(CHDB_PACKAGE); the ClickHouse tests will be skipped"; fi; \
	rm -rf $$tmp

## telemetrygen: just the load generator the READMEs send data with (also `make .tools/telemetrygen`)
telemetrygen: $(TELEMETRYGEN)
.tools/builder: $(OCB)
.tools/mdatagen: $(MDATAGEN)
.tools/telemetrygen: $(TELEMETRYGEN)
.tools/local-kms: $(LOCALKMS)
.tools/golangci-lint: $(GOLANGCI_LINT)

## build: the collector (through ocb) and wardenctl, incrementally
build: $(COLLECTOR) $(if $(wildcard cmd/wardenctl),$(WARDENCTL))

$(COLLECTOR): $(OCB) builder-config.yaml go.mod go.sum $(GO_SOURCES)
	@echo "building $(COLLECTOR) with ocb: a first build downloads and compiles the collector (6 to 8 minutes on 2 cores), later ones take seconds"
	$(OCB) --config builder-config.yaml
	@mkdir -p bin
	cp _build/otelcol-warden $(COLLECTOR)

$(WARDENCTL): go.mod go.sum builder-config.yaml $(GO_SOURCES)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-X main.version=$(shell sed -n '/^dist:/,/^[^ ]/s/^  version: *//p' builder-config.yaml)" -o $(WARDENCTL) ./cmd/wardenctl

## run: build and run the collector on the embedded default config (output under ./data/)
run: build
	@mkdir -p data
	$(COLLECTOR) --config $(CONFIG)

## test: every test: unit and in-process tests, then e2e against the built binary
test: unit-test alloc-test e2e

unit-test: chdb
	@echo "unit and in-process tests with the race detector (a few minutes; compiling them first takes longer on a fresh machine)"
	$(CHDB_ENV) $(GO) test $(TEST_FLAGS) ./...

# The allocation tests skip themselves under the race detector (it allocates): run them once
# more without it.
alloc-test:
	$(GO) test -count=1 -run 'Alloc|LinearTime' ./...

e2e: build $(TELEMETRYGEN) $(LOCALKMS) chdb
	@echo "end-to-end tests against $(COLLECTOR) (about 4 minutes)"
	WARDEN_ROOT=$(ROOT) $(CHDB_ENV) $(GO) test -tags e2e -count=1 $(E2E_FLAGS) ./tests/e2e/...

## validate: every config in the repository validates with the built collector
validate: $(COLLECTOR)
	@for f in distribution/config.yaml $$(find examples -name '*.yaml' -path '*config*'); do \
		$(COLLECTOR) validate --config $$f || { echo "invalid: $$f"; exit 1; }; echo "valid: $$f"; done

## bench: benchmarks, side by side with the contrib components they replace
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## precision: how many lines of real logs the zero-config pii_redaction changes (LOGS=dir of log files, kept out of the repository)
precision:
	@test -n "$(LOGS)" || { echo "usage: make precision LOGS=<directory of log files>"; exit 2; }
	WARDEN_PRECISION_LOGS=$(abspath $(LOGS)) $(GO) test -tags precision -count=1 -v -run TestPrecisionOnLogLines ./processor/piiredactionprocessor/ | grep -v -e '^=== ' -e '^--- '

## fuzz: every fuzzer for FUZZTIME each (make test runs only their seed corpora)
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$(grep -rl --include='*_test.go' '^func Fuzz' . | grep -v -e '^./_build/' -e '^./tools/' | xargs -n1 dirname | sort -u); do \
		for fz in $$(grep -h '^func Fuzz' $$pkg/*_test.go | sed 's/^func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
			echo "fuzz $$pkg $$fz"; \
			$(GO) test -run '^$$' -fuzz "^$$fz\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s $$pkg || exit 1; \
		done; \
	done

## bench-pipeline: the built collector under a fixed OTLP/HTTP logs load, bare (otlp -> batch -> file)
## against the default config, side by side (a few minutes; WARDEN_BENCH_BIN, WARDEN_BENCH_CONFIG,
## WARDEN_BENCH_RECORDS, WARDEN_BENCH_RATE and WARDEN_BENCH_ROUNDS change what is measured)
bench-pipeline: build
	WARDEN_ROOT=$(ROOT) $(GO) test -tags bench -count=1 -timeout 60m -v -run TestPipelineCost ./tests/bench/

## generate: regenerate mdatagen output for every component
generate: $(MDATAGEN)
	PATH=$(TOOLS):$$PATH $(GO) generate ./processor/... ./exporter/... ./extension/... ./receiver/...
	gofmt -w processor exporter extension receiver

## verify-manifest: the manifest resolves and compiles with our replaces (no binary kept)
verify-manifest: $(OCB)
	$(OCB) --config builder-config.yaml --skip-compilation
	cd _build && $(GO) build -o /dev/null .

$(GOLANGCI_LINT):
	GOBIN=$(TOOLS) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

## lint: gofmt, go vet, and golangci-lint when it can be installed
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt: $$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags e2e ./tests/...
	$(GO) vet -tags bench ./tests/...
	@if $(MAKE) -s $(GOLANGCI_LINT) >/dev/null 2>&1; then $(GOLANGCI_LINT) run ./...; else echo "golangci-lint $(GOLANGCI_LINT_VERSION) could not be installed here (no module proxy?); skipped"; fi

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf _build bin
