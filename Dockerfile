# syntax=docker/dockerfile:1
# The Python CI tests with (.python-version; tests/test_deploy.py keeps the two equal).
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TIKTOKEN_CACHE_DIR=/opt/tiktoken

WORKDIR /app
# The exact versions of requirements.lock first (a layer rebuilt only when the lock changes), then the bot itself
# without resolving anything again; pip check proves the two agree.
COPY requirements.lock ./
RUN pip install --no-deps -r requirements.lock
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
# docker build --build-arg COMMIT=$(git rev-parse --short=12 HEAD): bot_build_info and --version show it.
ARG COMMIT=unknown
RUN echo "$COMMIT" > bot/COMMIT \
 && pip install --no-deps . \
 && pip check \
 # Bake tiktoken's encodings into the image, so containers start without reaching the internet.
 && python -c "import tiktoken; [tiktoken.get_encoding(n) for n in ('o200k_base', 'cl100k_base')]" \
 && chmod -R a+rX /opt/tiktoken \
 && useradd --system --uid 10001 --no-create-home bot

USER 10001
ENV HOST=0.0.0.0 PORT=8080
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"PORT\", \"8080\")}/healthz', timeout=2)" || exit 1

ENTRYPOINT ["python", "-m", "bot"]
