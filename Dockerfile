# pubapi: slim Python, dependencies exactly as in uv.lock, a non-root user.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never

RUN pip install --no-cache-dir uv==0.13.9

WORKDIR /app
# Dependencies first, so that code changes do not reinstall them.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY app ./app
COPY migrations ./migrations
COPY seed_data ./seed_data
RUN uv sync --frozen --no-dev

RUN useradd --system --uid 10001 --create-home --home-dir /data pubapi
USER pubapi
WORKDIR /data

# The SQLite default lives in /data (mount a volume there); set PUBAPI_DATABASE_URL to a
# postgresql+psycopg:// URL to use PostgreSQL instead.
ENV PATH=/app/.venv/bin:$PATH \
    PUBAPI_DATABASE_URL=sqlite:////data/pubapi.db
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]
CMD ["pubapi", "serve", "--host", "0.0.0.0", "--port", "8000"]
