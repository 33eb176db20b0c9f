# The two commands of the README. Everything else lives in scripts/.
.PHONY: dev test lint

dev:
	@bash scripts/dev $(ARGS)

test:
	@bash scripts/test

lint:
	@bash scripts/lint
