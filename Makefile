# acd: the two commands a newcomer needs are `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PBX := deploy/asterisk/pbx.sh

.PHONY: all install asterisk prometheus chromium sox iproute2 kamailio run run-pbxs test test-unit lint fuzz bench clean

all: lint test

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is needed"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,dev]'
	touch $@

install: $(VENV)/.installed

# The Asterisk 22 root (Debian sid, by debootstrap), cached outside the repo, with our config in it.
asterisk:
	bash $(PBX) build
	bash $(PBX) install

# The whole local stack until Ctrl-C: embedded PostgreSQL, the PBX, the phone farm with demo
# traffic, the ACD service and a Prometheus scraping it. Everything it started is stopped on exit.
# ACD_PBXS=2: also a second PBX and Kamailio in front of both (README, docs/kamailio.md).
run: run-pbxs install asterisk prometheus $(if $(filter 2,$(ACD_PBXS)),kamailio)
	ACD_PBXS=$(ACD_PBXS) bash deploy/local/run.sh

# ACD_PBXS checked before anything is built or started (run.sh checks it too)
run-pbxs:
	@case "$(ACD_PBXS)" in "" | 1 | 2) ;; *) echo "make run: ACD_PBXS must be 1 (one PBX) or 2 (two PBXs behind Kamailio), not '$(ACD_PBXS)'" >&2; exit 2 ;; esac

# Debian's Prometheus, for the test that scrapes the ACD and loads deploy/prometheus/rules.yml.
prometheus:
	@command -v prometheus >/dev/null && command -v promtool >/dev/null || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus; }

# Debian's Chromium, headless, for the test that watches the wallboard in a real browser.
chromium:
	@command -v chromium >/dev/null || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; }

# iproute2 (`ip netns`), for the second lane of `make test`: a PBX in a network namespace of its own.
iproute2:
	@command -v ip >/dev/null || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends iproute2; }

# Debian's Kamailio (its base package holds every module deploy/kamailio/kamailio.cfg loads), the SIP
# proxy in front of several PBXs, for the end-to-end tests of two PBXs behind it (docs/kamailio.md).
# Debian's package starts a kamailio service of its own (SIP on port 5060 of every address, where the
# PBX listens): it is stopped and disabled; the tests start their own Kamailio.
kamailio:
	@command -v kamailio >/dev/null || test -x /usr/sbin/kamailio || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends kamailio; }
	@! systemctl is-active --quiet kamailio 2>/dev/null || systemctl disable --now kamailio

# sox, for the end-to-end tests that measure call recordings (length, the caller's tone).
sox:
	@command -v sox >/dev/null && command -v soxi >/dev/null || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends sox; }

# Every test: unit, simulation, PostgreSQL, Prometheus, the real-Asterisk end-to-end tests and the short
# soak, in three lanes side by side, the second and third each on a PBX of its own in a network namespace
# (tests/lanes.py). A lane that collected no test fails. Each lane lists its slowest tests, for balancing.
test: install asterisk prometheus chromium sox iproute2 kamailio
	$(PY) tests/lanes.py --durations=15

test-unit: install
	$(PY) -m pytest -ra tests/unit tests/sim

lint: install
	$(VENV)/bin/ruff check acd bench tests migrations phonefarm
	$(VENV)/bin/ruff format --check acd bench tests migrations phonefarm
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy --config-file tests/mypy.ini
	@# a sub-folder's conftest.py is one more module "conftest" to mypy: each is checked on its own
	for f in tests/*/conftest.py tests/*/*/conftest.py; do $(VENV)/bin/mypy --config-file tests/mypy.ini $$f || exit 1; done
	$(VENV)/bin/lint-imports

# The API's schema fuzz test with a fresh random draw of 120 examples per operation (make test sends
# a fixed 25): run it now and then; a failure prints the request as a curl command.
fuzz: install
	ACD_FUZZ_RANDOM=1 ACD_FUZZ_EXAMPLES=120 $(PY) -m pytest -ra -o timeout=3600 -p no:randomly tests/integration/test_api_v1_schema.py

# Each bench/bench_*.py runs as a module from the repo root, which holds bench/ and phonefarm/.
bench: install
	@for b in bench/bench_*.py; do echo "== $$b"; m=$${b%.py}; $(PY) -m $${m//\//.} || exit 1; done

clean:
	-bash $(PBX) stop
	rm -rf $(VENV) var build *.egg-info .mypy_cache .ruff_cache .pytest_cache .hypothesis .grimp_cache
