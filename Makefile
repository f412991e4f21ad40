# vastwatch — targets a newcomer can guess.
GO        ?= go
PKGS      := ./...
# The version comes from the tag (v1.2.3 stamps 1.2.3, as Prometheus components print theirs),
# into prometheus/common/version's variables: --version, `version` and vastwatch_build_info.
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null | sed 's/^v//' || echo dev)
REVISION  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS   := -s -w -X github.com/prometheus/common/version.Version=$(VERSION) -X github.com/prometheus/common/version.Revision=$(REVISION)
FUZZTIME  ?= 30s

# The chaos test's extra runs (see chaos): seeds as -chaos.seeds takes them, and their length.
CHAOS_SEEDS  ?= 1-10
CHAOS_CYCLES ?= 300

.PHONY: build extras test unit chaos e2e bench lint fuzz run-sim deps-e2e tools check-config clean screenshots

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/vastwatch ./cmd/vastwatch

# The shell completions and the man page, made by the binary from its flag definitions; the
# release archives carry them (.goreleaser.yaml).
extras: build
	mkdir -p bin/extras/completions
	bin/vastwatch completion bash > bin/extras/completions/vastwatch.bash
	bin/vastwatch completion zsh > bin/extras/completions/_vastwatch
	bin/vastwatch man > bin/extras/vastwatch.1

# The whole suite: vet, unit and integration tests with the race detector, the chaos test's
# full and short runs, the example config, and the end-to-end suite (which installs Debian's
# prometheus package when missing).
test: lint unit chaos check-config e2e

unit: deps-e2e tools
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

# The chaos test beyond unit's (600 cycles under the race detector): the default seed's full
# 2,000 cycles, then short runs of other seeds. A failing run prints the command that reruns it.
chaos:
	$(GO) test -count=1 -run 'TestChaos$$' ./internal/scaler/
	$(GO) test -count=1 -run 'TestChaos$$' ./internal/scaler/ -chaos.seeds $(CHAOS_SEEDS) -chaos.cycles $(CHAOS_CYCLES)
# The tools of go.mod's tool directives (helm, which deploy's chart tests run), built and cached
# before the tests, so that a cold build counts against no test's timeout.
tools:
	$(GO) tool -n helm >/dev/null

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

# The README's status-page screenshots, from `run --simulate` with the embedded example config.
# Never part of `make test`, which leaves tracked files alone; look at the pictures before
# committing them.
screenshots: deps-e2e
	$(GO) test -count=1 -timeout 5m -tags 'e2e screenshots' -run TestReadmeScreenshots ./e2e/...

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
