# The two commands of the README. Everything else lives in scripts/.
.PHONY: dev test test-production test-production-shape lint bench

dev:
	@bash scripts/dev $(ARGS)

test:
	@bash scripts/test

test-production:
	@bash scripts/test-production

test-production-shape:
	@bash scripts/test-production-shape

lint:
	@bash scripts/lint

# ARGS: bench/activation.py's flags, e.g. make bench ARGS="--duration 30"
bench:
	@bash scripts/bootstrap && .venv/bin/python bench/activation.py $(ARGS)
