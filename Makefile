# Two commands: `make run` starts Berth on the embedded defaults; `make test` runs every test.
PYTHON ?= python3
# Tests, lint and bench: requirements-dev.txt (the runtime plus the test tools).
VENV := .venv
BIN := $(VENV)/bin
# `make run`: requirements.txt only, what the image installs, so the server never leans on a test
# tool. Under ./var (ignored by git and docker) with the rest of what `make run` makes.
RUN_VENV := var/venv
RUN_BIN := $(RUN_VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Where config/settings.py looks for the SQLite file, the blobs and the secret key (make reads
# BERTH_DATA_DIR from the environment too).
BERTH_DATA_DIR ?= var
SECRET_KEY_FILE := $(BERTH_DATA_DIR)/secret_key

.PHONY: run test lint venv run-venv secret-key

$(BIN)/activate: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $(BIN)/activate

$(RUN_BIN)/activate: requirements.txt
	$(PYTHON) -m venv $(RUN_VENV)
	$(RUN_BIN)/pip install -q --upgrade pip
	$(RUN_BIN)/pip install -q -r requirements.txt
	touch $(RUN_BIN)/activate

venv: $(BIN)/activate
run-venv: $(RUN_BIN)/activate

# A key generated once, readable only by its owner. config/settings.py reads it when SECRET_KEY
# isn't set, so manage.py commands run by hand (README) use the server's key.
secret-key:
	mkdir -p $(BERTH_DATA_DIR)
	test -s $(SECRET_KEY_FILE) || (umask 077 && $(PYTHON) -c \
		"import secrets; print(secrets.token_urlsafe(50))" > $(SECRET_KEY_FILE))

# SQLite and blobs under ./var, with the secret key kept there.
run: run-venv secret-key
	BERTH_DATA_DIR=$(BERTH_DATA_DIR) $(RUN_BIN)/python manage.py migrate --noinput
	# The worker (webhook deliveries, the download-count fold) runs beside gunicorn and stops with it.
	BERTH_DATA_DIR=$(BERTH_DATA_DIR) $(RUN_BIN)/python manage.py worker & worker=$$!; \
		trap 'kill $$worker 2>/dev/null' EXIT; \
		BERTH_DATA_DIR=$(BERTH_DATA_DIR) HOST=$(HOST) PORT=$(PORT) \
		$(RUN_BIN)/gunicorn -c config/gunicorn.py config.wsgi

lint: venv
	$(BIN)/ruff check .

test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Berth against the CNCF distribution server (Debian's docker-registry) on loopback: prints a
# table, writes JSON to bench/results/. Pushes in every shape (stream, length, chunks, chunks via
# nginx over two Berth servers), pulls, manifest GETs, docker push/pull and memory, on the
# filesystem and on S3 (moto). BENCH_ARGS="--reps 5 --passes filesystem --only blobs" and more:
# `.venv/bin/python -m bench --help`.
# Debian's packages may start their own registry on :5000 and nginx on :80; the bench uses neither.
.PHONY: bench bench-tools
bench-tools:
	command -v docker-registry >/dev/null && command -v wrk >/dev/null && command -v nginx >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry wrk nginx)
	-service docker-registry stop >/dev/null 2>&1

bench: venv bench-tools
	$(BIN)/python -m bench $(BENCH_ARGS)
