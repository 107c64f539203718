# Krimstat developer tasks. The README's two commands need none of these.

.PHONY: run test docs data bench lint fuzz loadfault ci

run:
	go run ./cmd/krimstat serve

test:
	go test ./...

# Regenerate docs/ (swag) and openapi/ (OpenAPI 3) from the annotations.
docs:
	go run ./internal/apidocs/cmd/apidocs

# Rebuild the bundled release from the reference data beside the repository.
data:
	go run ./cmd/krimstat ingest -reference ../shared/data -out data/krimstat.json

bench:
	go test -run '^$$' -bench . -benchmem ./cache/... ./cmd/krimstat/ ./store/...
	bash bench/load.sh

lint:
	gofmt -l $$(git ls-files '*.go')
	go vet ./...

fuzz:
	bash scripts/fuzz.sh 60s

loadfault:
	bash scripts/loadfault.sh

ci:
	bash .ci/run
