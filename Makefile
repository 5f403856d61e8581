# Zhitang Assistant. A fresh machine needs only `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PY310     := $(shell pyenv prefix 3.10.13 2>/dev/null || echo /root/.pyenv/versions/3.10.13)/bin/python
VENV      := .venv
RASA_VENV := .venv-rasa
PY        := $(VENV)/bin/python
RASA      := $(RASA_VENV)/bin/rasa
PIP_FLAGS := --quiet --disable-pip-version-check
export PYTHONPATH := $(CURDIR)
export ACTION_PORT ?= 5055
export RASA_PORT ?= 5005
export GATEWAY_PORT ?= 8000
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export TF_CPP_MIN_LOG_LEVEL := 2
export RASA_TELEMETRY_ENABLED := false

CHROMIUM     := /usr/bin/chromium
SUDO         := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
USERDICT     := build/jieba/userdict.txt
LEXICON      := build/lexicon/lexicon.json
SITUATIONS   := build/nlu/situations.yml
NLU_DATA     := --data data build/nlu
# Everything a trained model depends on: a change to any of these retrains it.
MODEL_INPUTS := config.yml domain.yml $(sort $(wildcard data/*/*.yml)) $(sort $(wildcard bot/rasa_ext/*.py)) \
                bot/language.py bot/pinyin.py bot/rewrite.py $(USERDICT) $(LEXICON) $(SITUATIONS)

.PHONY: help env lock run test unit validate model-test story-test e2e lint format kb userdict train cross-validate clean chromium screenshots servers run-scaled test-scale bench admin-user kb-export kb-import migration purge

help: ## Show this help
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

# Both environments install from lock files: every package, pip itself included, pinned with its hashes
# (requirements/*.txt, made by `make lock` from the top-level lists in requirements/*.in). pip is not
# upgraded in a separate, unhashed step: the venv's own pip installs the lock, which swaps in the locked
# pip. PIP_USE_PEP517 makes a new venv's old pip build the few sdists (jieba, zhconv) as wheels, like newer
# pips do; their build dependencies (setuptools, wheel) are outside hash checking, as in any pip.
define install-lock
test -x $(1)/bin/python || $(PY310) -m venv $(1)
PIP_USE_PEP517=1 $(1)/bin/python -m pip install $(PIP_FLAGS) --require-hashes -r $(2) 2>&1 | grep -v "^WARNING: Location"; test $${PIPESTATUS[0]} -eq 0
touch $(1)/.installed
endef

$(VENV)/.installed: requirements/app.txt
	$(call install-lock,$(VENV),requirements/app.txt)

$(RASA_VENV)/.installed: requirements/rasa.txt
	$(call install-lock,$(RASA_VENV),requirements/rasa.txt)

env: $(VENV)/.installed $(RASA_VENV)/.installed ## Create both environments (actions/KB/gateway; Rasa 3.6 on Python 3.10)

# uv resolves the locks (in its own venv under build/, never in the project's). It keeps the versions already
# in a lock wherever requirements/*.in allow them; UPGRADE=1 moves every package to the newest allowed.
UV_VERSION := 0.13.8
UV         := build/uv-$(UV_VERSION)/bin/uv
$(UV):
	$(PY310) -m venv build/uv-$(UV_VERSION)
	build/uv-$(UV_VERSION)/bin/pip install $(PIP_FLAGS) uv==$(UV_VERSION) 2>&1 | grep -v "^WARNING: Location"; test $${PIPESTATUS[0]} -eq 0

define compile-lock
$(UV) pip compile --quiet requirements/$(1).in -o requirements/$(1).txt --generate-hashes \
  --python-version 3.10 --python-platform linux --custom-compile-command "make lock" $(if $(UPGRADE),--upgrade)
{ echo '# Lock file for requirements/$(1).in (Linux x86_64, Python 3.10): every package pinned, with hashes.'; \
  echo '# Do not edit: change requirements/$(1).in, then run `make lock` (`make lock UPGRADE=1` for newer versions).'; \
  echo '# `make env` installs it with pip install --require-hashes.'; cat requirements/$(1).txt; } > requirements/$(1).txt.new
mv requirements/$(1).txt.new requirements/$(1).txt
endef

lock: $(UV) ## Regenerate the hashed lock files requirements/{app,rasa}.txt from requirements/*.in
	$(call compile-lock,app)
	$(call compile-lock,rasa)

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk fonts-noto-color-emoji

chromium: $(CHROMIUM) ## Debian's Chromium for the browser tests (never `playwright install`)

servers: ## Debian's PostgreSQL and Redis for the scale-out mode (our targets start them, on loopback)
	@if ! command -v redis-server >/dev/null || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql redis-server; fi

kb: $(VENV)/.installed ## Check the YAML entries against the report and load them into the KB (staff edits kept)
	umask 077 && $(PY) -m kb build

$(USERDICT) $(LEXICON) $(SITUATIONS) &: $(VENV)/.installed $(wildcard kb/source/entries/*.yml) $(wildcard kb/source/reports/*.txt) kb/source/report.yml kb/source/lexicon.yml
	$(PY) -m kb userdict

userdict: $(USERDICT) $(LEXICON) $(SITUATIONS) ## What the NLU reads at training: jieba's KB terms, rewrite tables, situations

train: $(RASA_VENV)/.installed $(USERDICT) $(LEXICON) $(SITUATIONS) ## Train the model unless data, config and domain are unchanged
	@hash=$$(cat $(MODEL_INPUTS) | sha256sum | cut -c1-12); \
	if [ -f models/zhitang-$$hash.tar.gz ]; then echo "model up to date: models/zhitang-$$hash.tar.gz"; \
	else mkdir -p models && $(RASA) train $(NLU_DATA) --fixed-model-name zhitang-$$hash --out models && \
	  find models -name 'zhitang-*.tar.gz' ! -name "zhitang-$$hash.tar.gz" -delete; fi

run: env kb train ## Start everything: widget at http://localhost:8000, REST at http://localhost:5005/webhooks/rest/webhook
	mkdir -p var
	find var -maxdepth 1 -type f -exec chmod go-rwx {} +  # files from before umask 077
	umask 077 && $(PY) -m kb ensure-admin
	# bot.ops.supervisor runs the Procfile and starts a process that dies again, with backoff (honcho stopped all)
	umask 077 && exec $(PY) -m bot.ops.supervisor Procfile  # var/ files (tracker.db, secrets) owner-only

admin-user: $(VENV)/.installed ## Add a staff account: make admin-user NAME=wang ROLE=editor (asks for the password)
	$(PY) -m kb create-user $(NAME) --role $(or $(ROLE),editor)

kb-export: $(VENV)/.installed ## Write every KB entry to YAML: make kb-export [OUT=kb.yml]
	$(PY) -m kb export --out $(or $(OUT),kb-export.yml)

kb-import: $(VENV)/.installed ## Dry-run an import: make kb-import FILE=kb.yml [APPLY=1]
	$(PY) -m kb import $(FILE) $(if $(APPLY),,--dry-run)

migration: $(VENV)/.installed ## New Alembic migration from the models: make migration MSG="what changed"
	$(VENV)/bin/alembic revision --autogenerate -m "$(MSG)"

purge: $(VENV)/.installed ## Delete conversations, feedback, unanswered questions older than ZHITANG_RETENTION_DAYS (180)
	$(PY) -m kb purge

run-scaled: env train servers ## Scale-out: PostgreSQL + Redis, 2 Rasa replicas and action servers, gateway (:8000)
	$(PY) -m bot.ops.scaled --replicas 2

test-scale: env train servers ## Scale and fault tests: a replica killed mid-way, action server/Rasa/KB database down
	$(PY) -m pytest -q tests/scale

bench: env train servers ## Benchmark vs the stock `rasa init` bot (unique texts, length sweep, SOAK=600 s soak); writes docs/benchmarks.md
	$(PY) -m bot.ops.bench --soak $(or $(SOAK),600)  # SOAK=seconds (default 10 min)

unit: $(VENV)/.installed $(RASA_VENV)/.installed ## pytest: KB build, search, actions; the NLU component in the Rasa env
	$(PY) -m pytest -q tests --ignore=tests/e2e --ignore=tests/rasa --ignore=tests/scale
	cd tests/rasa && ../../$(RASA_VENV)/bin/python -m pytest -q

validate: $(RASA_VENV)/.installed $(USERDICT) $(SITUATIONS) ## rasa data validate --fail-on-warnings
	$(RASA) data validate $(NLU_DATA) --fail-on-warnings

model-test: train ## The trained model with our patches: its parse (NumPy DIET, count vectors) on every example and its rules at every story step are Rasa's
	cd tests/rasa && ZHITANG_REQUIRE_MODEL=1 ../../$(RASA_VENV)/bin/python -m pytest -q test_diet_numpy.py test_patches.py -k trained_models

story-test: train ## rasa test on the test stories (both languages), failing on any prediction error
	$(RASA) test core --stories tests/stories --fail-on-prediction-errors --out results/core

e2e: env train $(CHROMIUM) ## End-to-end on free ports: question sets over REST, the widget in headless Chromium
	$(PY) -m pytest -q tests/e2e

test: env kb lint unit validate model-test story-test e2e test-scale ## The whole test suite

screenshots: env train $(CHROMIUM) ## Retake docs/widget-*.png
	ZHITANG_SCREENSHOTS=1 $(PY) -m pytest -q tests/e2e -k shots

cross-validate: train ## Intent F1 by 5-fold cross-validation (slow; not part of make test)
	rm -rf build/nlu-all && mkdir -p build/nlu-all && cp data/nlu/*.yml $(SITUATIONS) build/nlu-all/
	$(RASA) test nlu --nlu build/nlu-all --cross-validation --folds 5 --out results/nlu-cv

# eslint for the widget's scripts, pinned in package-lock.json, installed by npm ci into node_modules/ (again when
# the lock changes).
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

lint: $(VENV)/.installed node_modules/.installed ## ruff, black --check, mypy ([tool.mypy] in pyproject.toml); eslint on the widget
	$(VENV)/bin/ruff check actions kb bot tests
	$(VENV)/bin/black --check actions kb bot tests
	$(VENV)/bin/mypy
	npx --no-install eslint bot/web/gateway/static

format: $(VENV)/.installed ## Format with black and ruff --fix
	$(VENV)/bin/black actions kb bot tests
	$(VENV)/bin/ruff check --fix actions kb bot tests

clean: ## Remove models, build outputs and test results (keeps the KB and conversations in var/)
	rm -rf models/*.tar.gz build results .pytest_cache
