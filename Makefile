# The two commands of the README. Everything else lives in scripts/.
.PHONY: dev test lint bench

dev:
	@bash scripts/dev $(ARGS)

test:
	@bash scripts/test

lint:
	@bash scripts/lint

bench:
	@bash scripts/bootstrap && .venv/bin/python bench/activation.py
