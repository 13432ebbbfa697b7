# syntax=docker/dockerfile:1
# The gateway image: one image for every process of docker-compose.yml (web, worker, beat, smtp,
# imap, migrate), the command naming which. The hot path is compiled with mypyc (setup.py), as
# the benchmarks measure it.

# --- build: the wheel with the compiled extension modules, and the wheels it depends on -------
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# As the Makefile's compiled build: the runtime dependencies and the `compile` extra first,
# since mypyc type-checks every module the compiled ones import. A layer of its own, rebuilt
# only when pyproject.toml changes.
COPY pyproject.toml setup.py README.md ./
RUN python -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; \
print("\n".join(p["dependencies"] + p["optional-dependencies"]["compile"]))' \
        > /tmp/compile-requirements.txt \
    && pip install -r /tmp/compile-requirements.txt
COPY gateway ./gateway
COPY parsers ./parsers
COPY mappings ./mappings
COPY outbound ./outbound
RUN GATEWAY_MYPYC=1 pip wheel --no-build-isolation --no-deps --wheel-dir /wheels . \
    && pip wheel --wheel-dir /wheels /wheels/supplier_gateway-*.whl

# --- runtime: the wheels installed, no compiler, a user without privileges --------------------
FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    GATEWAY_VAR_DIR=/var/lib/gateway
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels supplier-gateway \
    && useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin gateway \
    && install -d -o gateway -g gateway /var/lib/gateway
USER gateway
WORKDIR /var/lib/gateway
# web (gateway web --host 0.0.0.0) and smtp (gateway smtp --host 0.0.0.0).
EXPOSE 8000 2525
# For the web process (the default command); docker-compose.yml gives the other processes
# their own check or none. Liveness only: /readyz would mark the container unhealthy, and get it
# restarted, whenever the database is down.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
ENTRYPOINT ["gateway"]
CMD ["web", "--host", "0.0.0.0"]
