# The two commands of the README: `make demo` (set up, then run the whole pipeline on the
# embedded synthetic dataset) and `make test` (set up, then run the test suite).
.PHONY: setup demo test

setup:
	bash scripts/setup.sh

demo: setup
	.venv/bin/dlcr-demo

test:
	bash scripts/setup.sh --test
	.venv/bin/python -m pytest -q
