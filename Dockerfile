FROM python:3.11-slim
ENV UV_LINK_MODE=copy PYTHONUNBUFFERED=1 IMPWATCH_DATA_DIR=/data IMPWATCH_HOST=0.0.0.0
WORKDIR /srv/impwatch
RUN pip install --no-cache-dir uv
COPY pyproject.toml uv.lock README.md ./
COPY core ./core
COPY app ./app
COPY watchers ./watchers
COPY watchlist ./watchlist
COPY alembic ./alembic
COPY alembic.ini ./
RUN uv sync --frozen --no-dev --compile-bytecode && .venv/bin/python -m compileall -q core app watchers watchlist
VOLUME /data
EXPOSE 8000
CMD [".venv/bin/impwatch", "serve"]
