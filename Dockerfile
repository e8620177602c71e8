# syntax=docker/dockerfile:1
# social-review: Socket Mode by default (`serve`), HTTP mode with `serve --http`.
# Build: docker build -t social-review .
# Run:   docker run --env-file .env -v social-review-data:/data social-review
#        docker run --env-file .env -p 3000:3000 social-review serve --http
# Replace the shipped rules: -v "$PWD/rules.yaml:/etc/social-review/rules.yaml:ro"

# ---- build: a virtualenv with the pinned dependencies and the app, nothing else -----------------
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 VENV=/opt/venv
WORKDIR /src
# tests/test_docker.py runs these same two RUN lines in a fresh virtualenv: keep them plain shell.
COPY requirements.lock ./
RUN python -m venv "$VENV" && "$VENV/bin/pip" install --no-deps -r requirements.lock && "$VENV/bin/pip" check
COPY pyproject.toml README.md rules.yaml ./
COPY bot ./bot
RUN "$VENV/bin/pip" install --no-deps . && "$VENV/bin/social-review" rules check --rules rules.yaml

# ---- runtime: slim Python, the virtualenv, a non-root user -------------------------------------
FROM python:3.11-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SOCIAL_REVIEW_RULES=/etc/social-review/rules.yaml \
    SOCIAL_REVIEW_PORT=3000 \
    SOCIAL_REVIEW_LOG_FORMAT=json \
    DATABASE_URL=sqlite:////data/social-review.db \
    MPLCONFIGDIR=/tmp/matplotlib
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /data --shell /usr/sbin/nologin app \
    && mkdir -p /data /etc/social-review \
    && chown app:app /data
COPY --from=build /opt/venv /opt/venv
COPY --chown=root:root rules.yaml /etc/social-review/rules.yaml
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 3000
# Liveness on /healthz: the HTTP port in HTTP mode, the side port in Socket Mode (both 3000).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-m", "bot.healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["social-review"]
CMD ["serve"]
