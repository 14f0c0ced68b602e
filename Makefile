# Two commands for a fresh machine with python3 and make: `make run` and `make test`.
# uv is bootstrapped into .tools/ and creates .venv/ from the committed uv.lock.

UV_VERSION := 0.13.8
UV := .tools/bin/uv
RUN := $(UV) run --frozen

.PHONY: run test lint typecheck unit env clean

$(UV):
	python3 -m venv .tools
	.tools/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

# --compile-bytecode: the packages' bytecode is written once here (a second after the first
# time), so no Python process of a test run compiles its imports, PYTHONDONTWRITEBYTECODE or not.
env: $(UV)
	$(UV) sync --frozen --compile-bytecode

run: env
	$(RUN) admitone demo
	$(RUN) admitone serve

lint: env
	$(RUN) ruff check src tests bench migrations
	$(RUN) ruff format --check src tests bench migrations
	$(RUN) lint-imports

typecheck: env
	$(RUN) mypy

# Without PYTHONDONTWRITEBYTECODE (set in some images), pytest keeps the test modules it rewrites
# for assertions and every app, worker or CLI process the tests start keeps its compiled src;
# both caches are gitignored. With it, each run compiles them all again (~10 s of CPU).
#
# The tests wait (PostgreSQL, app and worker processes, SMTP, the browser) more than they compute,
# so pytest-xdist runs them in parallel processes; each has its own database templates and
# databases. A -n or --dist in PYTEST_ARGS wins: `make unit PYTEST_ARGS="-n0 tests/web"`.
PYTEST_XDIST := -n 3 --dist worksteal
unit: env
	env -u PYTHONDONTWRITEBYTECODE $(RUN) pytest $(PYTEST_XDIST) $(PYTEST_ARGS)

test: lint typecheck unit

clean:
	rm -rf .venv .tools .mypy_cache .ruff_cache .pytest_cache
