# Berth's build. `make` alone prints this help.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X berth.dev/berth/internal/version.Version=$(VERSION)
RUN_DIR ?= .berth
TEST_FLAGS ?=
# The report of `make test` (internal/testreport): with CI=true a skipped test
# not on this allow-list fails the run.
TEST_ALLOWED_SKIPS ?= .ci/allowed-skips.txt
# Tests built only without the race detector (see the test target).
NORACE_TESTS ?= ^(TestNacosSDKGetPublishListenRemove|TestNacosSDKIsBoundByBerthRoles|TestConfigCenterFromTheCLIAndANacosClient)$$

.PHONY: help build web components run test lint fmt verify bench fuzz clean stress-gray screenshots image

help: ## Show this help
	@echo "Berth — make targets:"
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{ printf "  make %-11s %s\n", $$1, $$2 }'

build: web ## Build bin/berth (the console included)
	go build -ldflags "$(LDFLAGS)" -o bin/berth ./cmd/berth

# make image IMAGE=127.0.0.1:5000/bank/berth:v1 PUSH=true: Berth's OCI image, built without a container
# engine (scripts/image): the static binary over an empty base, non-root; bin/berth-image.tar always.
IMAGE ?= berth:$(VERSION)
PUSH ?= false
image: web ## Build Berth's OCI image without a daemon (bin/berth-image.tar; PUSH=true pushes IMAGE)
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath -ldflags "$(LDFLAGS)" -o bin/berth-linux-amd64 ./cmd/berth
	go run ./scripts/image -binary bin/berth-linux-amd64 -ref $(IMAGE) -tarball bin/berth-image.tar -push=$(PUSH) \
		-version $(VERSION) -revision $$(git rev-parse HEAD 2>/dev/null || echo unknown)

web: ## Build the console into web/dist when its sources changed (npm ci from the lockfile)
	@scripts/web.sh

components: ## Build (once per machine) the Kubernetes components of the local cluster and the Tekton controller
	@build/components/build.sh
	@build/components/tekton/build.sh

run: build ## Build, start a local cluster (unless KUBECONFIG=… is given), Prometheus, Alertmanager, a registry and the server
	@scripts/buildah.sh
	@scripts/maven.sh
	@scripts/prometheus.sh
	@scripts/registry.sh
	@scripts/run.sh

test: lint web ## Lint, then run every test with the race detector, real cluster, PostgreSQL and browser included
	@# PostgreSQL at 127.0.0.1:5432: used if it answers, else started, else installed.
	@scripts/postgres.sh
	@# Debian's chromium for the console's browser journeys (internal/cli/e2e/console).
	@scripts/chromium.sh
	@# Debian's slapd, for the single sign-on tests' own OpenLDAP server.
	@scripts/slapd.sh
	@# Debian's docker-registry, the OCI registry the image test pushes to (scripts/image).
	@scripts/registry.sh
	@# Debian's buildah, which builds the Dockerfiles of pipelines (internal/pipeline/local).
	@scripts/buildah.sh
	@# Debian's maven, a JDK and the Maven plugins of its packaged repository: offline maven builds.
	@scripts/maven.sh
	@# Debian's prometheus and prometheus-alertmanager, for the alerting tests (internal/promtest).
	@scripts/prometheus.sh
	@go build -o bin/testreport ./scripts/testreport
	@# The local control plane's components and the Tekton controller (for the Tekton executor's
	@# tests): built once per machine, cached by version.
	@# go test -json goes through bin/testreport: failures in full, skips listed, counts last.
	@# Then, without the race detector, the tests that drive the Nacos Go SDK in-process: the SDK
	@# races on its own client map (internal/api/nacos_sdk_norace_test.go); they are built only then.
	components=$$(build/components/build.sh) && tekton=$$(build/components/tekton/build.sh) && \
		{ BERTH_COMPONENTS_DIR="$$components" BERTH_TEKTON_DIR="$$tekton" go test -json -race -count=1 -timeout 40m $(TEST_FLAGS) ./...; \
		  BERTH_COMPONENTS_DIR="$$components" go test -json -count=1 -timeout 20m -run '$(NORACE_TESTS)' ./internal/api/ ./internal/cli/e2e/; } | \
		bin/testreport -allowed $(TEST_ALLOWED_SKIPS)

lint: ## Run go vet and gofmt checks
	go vet ./...
	@out=$$(gofmt -l cmd internal bench 2>/dev/null); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

fmt: ## Format the code
	gofmt -w cmd internal bench

verify: test ## Same as test (kept for habit)

screenshots: web ## Take the console screenshots of docs/console/ (the browser journeys, saving pages)
	components=$$(build/components/build.sh) && BERTH_SCREENSHOTS=$(CURDIR)/docs/console \
		BERTH_COMPONENTS_DIR="$$components" go test -count=1 -timeout 20m ./internal/cli/e2e/console/

bench: build ## Run the benchmarks in bench/ (see docs/benchmarks.md)
	@scripts/bench.sh

fuzz: ## Run each fuzz target for FUZZTIME (default 30s)
	@scripts/fuzz.sh $${FUZZTIME:-30s}

clean: ## Remove build output (not the cached components)
	rm -rf bin

stress-gray: ## Run the gray release end-to-end test 30 times in a row (race detector on); any failure fails
	@# The local control plane's components, as for `make test`.
	components=$$(build/components/build.sh) && \
		BERTH_COMPONENTS_DIR="$$components" go test -race -count=30 -timeout 120m \
		-run TestGrayReleaseRoutesCohortsThroughTheGateway ./internal/cli/e2e/grayrelease/
