# vastwatch — targets a newcomer can guess.
GO        ?= go
PKGS      := ./...
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS   := -s -w -X main.version=$(VERSION) -X main.revision=$(REVISION)
FUZZTIME  ?= 30s

.PHONY: build test unit e2e bench lint fuzz run-sim deps-e2e check-config clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/vastwatch ./cmd/vastwatch

# The whole suite: vet, unit and integration tests with the race detector, the example config,
# and the end-to-end suite (which installs Debian's prometheus package when missing).
test: lint unit check-config e2e

unit: deps-e2e
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

check-config:
	CGO_ENABLED=0 $(GO) run -trimpath ./cmd/vastwatch check --config.file config.example.yaml

# vet with the release build's settings (CGO_ENABLED=0, -trimpath): the packages it compiles are
# then the ones deploy's Dockerfile test and the e2e build link, straight from the build cache.
lint:
	CGO_ENABLED=0 $(GO) vet -trimpath $(PKGS)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

e2e: deps-e2e
	$(GO) test -count=1 -timeout 15m -tags e2e ./e2e/...

deps-e2e:
	./scripts/install-e2e-deps.sh

# One iteration of each benchmark. cmd/vastwatch's build the binary and run it: the daemon's
# memory for VASTWATCH_BENCH_DAEMON_DURATION (10m); VASTWATCH_BENCH_BASELINE=path/to/an/older/vastwatch
# runs that build beside this one in the search and scrape benchmarks.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 1x -timeout 30m $(PKGS)

fuzz:
	./scripts/fuzz.sh $(FUZZTIME)

run-sim:
	$(GO) run ./cmd/vastwatch run --simulate

clean:
	rm -rf bin
