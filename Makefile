# Tandem: two commands matter on a fresh machine.
#   make run    run Tandem on its embedded defaults (bolt store, in-process pub/sub) at :8080
#   make test   run the whole test suite (installs what it needs: Node packages, redis-server, chromium)
SHELL := /bin/bash
GO ?= go
BIN := bin/tandem

.PHONY: run build test test-go test-fuzz test-interop vet bench clean

run: build
	./$(BIN) serve

build:
	scripts/build.sh

test:
	scripts/test.sh

test-go:
	$(GO) test -race ./...

test-fuzz:
	scripts/fuzz.sh

test-interop: build
	scripts/interop.sh

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo 'gofmt needed'; exit 1)

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./ot/... ./storage/... ./sessions/...

clean:
	rm -rf bin
