# Krimstat developer tasks. The README's two commands need none of these.

.PHONY: run test docs data bench lint fuzz loadfault ci

run:
	go run ./cmd/krimstat serve

test:
	go test ./...

# Regenerate docs/ (swag) and openapi/ (OpenAPI 3) from the annotations.
docs:
	go run ./internal/apidocs/cmd/apidocs

# Rebuild the bundled release from the reference data beside the repository,
# then its snapshot data/krimstat.snap, which the server loads at start.
data:
	go run ./cmd/krimstat ingest -reference ../shared/data -out data/krimstat.json
	go generate ./data

# Go benchmarks, then every load benchmark in one table beside its ceiling
# or goal (bench/table.sh: several minutes; PostgreSQL, Redis, wrk).
bench:
	go test -run '^$$' -bench . -benchmem ./cache/... ./cmd/krimstat/ ./store/...
	bash bench/table.sh

lint:
	gofmt -l $$(git ls-files '*.go')
	go vet ./...

fuzz:
	bash scripts/fuzz.sh 60s

loadfault:
	bash scripts/loadfault.sh

ci:
	bash .ci/run
