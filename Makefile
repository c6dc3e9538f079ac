# eng5np — see README.md.
GO      ?= go
BIN     := bin/eng5np
GIT_SHA := $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS := -X eng5np/artefacts.gitSHA=$(GIT_SHA)
FUZZTIME ?= 60s

.PHONY: build run test lint bench bench-peers bench-capture fuzz clean

## build: compile bin/eng5np with the git commit stamped in
build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) .

## run: execute the bundled sample batch on the embedded stack (mock judge paced at 500ms so the dashboard can be watched)
run: build
	./$(BIN) execute --mock-latency 500ms

## test: vet, gofmt check and the whole test suite with the race detector
## (tests mostly wait on brokers and timeouts, so more of them run at once
## than there are cores), then the statistical simulations, which skip
## themselves under -race (single-goroutine numerics, 12x slower there)
SIMULATIONS := ^(TestReliabilityTellsTheTruth|TestOrderEffectIsRecovered|TestProjectionIsCalibrated)$$
test: lint
	$(GO) test -race -count=1 -parallel 8 ./...
	$(GO) test -count=1 -run '$(SIMULATIONS)' ./scoring

## lint: go vet and a gofmt check
lint:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

## bench: every benchmark (figures go to docs/BENCHMARKS.md)
bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./...

## bench-peers: refit the BradleyTerry2 comparison live and time eng5np fit against Rscript
bench-peers: build
	scoring/testdata/bench_peers.sh

## bench-capture: capture N pre-produced callbacks out of process (peak RSS) and compare with kcat
N ?= 1000000
bench-capture:
	capture/testdata/bench_capture.sh $(N)

## fuzz: run every fuzz target for FUZZTIME (default 60s) each, then print a summary
FUZZ_TARGETS := scoring:FuzzFit events:FuzzDecode journal:FuzzScan config:FuzzLoad \
  inputs:FuzzDocxText inputs:FuzzDocumentXML inputs:FuzzParseAnchorsCSV inputs:FuzzParseComparisonsCSV
fuzz:
	@set -e; sum=$$(mktemp); cur=$$(mktemp); trap 'rm -f $$sum $$cur' EXIT; \
	for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; name=$${t##*:}; \
	  echo "== $$pkg $$name ($(FUZZTIME))"; \
	  if ! $(GO) test ./$$pkg -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) >$$cur 2>&1; then \
	    cat $$cur; echo "FAIL $$pkg $$name"; exit 1; fi; \
	  tail -n 3 $$cur; \
	  echo "ok  $$pkg $$name: $$(grep '^fuzz: elapsed' $$cur | tail -n 1 | sed -e 's/^fuzz: //' -e 's| ([0-9]*/sec)||')" >>$$sum; \
	done; \
	echo "== summary (FUZZTIME=$(FUZZTIME))"; cat $$sum

clean:
	rm -rf bin
