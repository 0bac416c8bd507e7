# T21 in a container: the web app built with Node, then a slim Python runtime that serves it.
# One image for every role: `t21 api` (default), `t21 worker`, `t21 migrate` (see compose.yaml).

# --- 1. the web app --------------------------------------------------------------------------
FROM node:20-bookworm-slim AS web
WORKDIR /build/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

# --- 2. the Python package -------------------------------------------------------------------
FROM python:3.11-slim-bookworm AS wheel
WORKDIR /build
COPY pyproject.toml README.md ./
COPY src/ src/
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# --- 3. the runtime --------------------------------------------------------------------------
FROM python:3.11-slim-bookworm AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    T21_ENV=production \
    T21_HOST=0.0.0.0 \
    T21_PORT=8000 \
    T21_DATA_DIR=/var/lib/t21 \
    T21_WEB_DIST_DIR=/opt/t21/web \
    T21_LOG_JSON=true
RUN useradd --system --uid 10021 --home-dir /var/lib/t21 --create-home t21
COPY --from=wheel /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
COPY --from=web /build/web/dist /opt/t21/web
USER t21
WORKDIR /var/lib/t21
EXPOSE 8000
# Ready means the database, the worker heartbeat and Redis (when set) answer (see README).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4).status == 200 else 1)"]
ENTRYPOINT ["t21"]
CMD ["api"]
