# Multi-stage image: wheels are built in the first stage, the runtime stage has no
# compiler and runs as a non-root user against DATABASE_URL.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md requirements.lock ./
COPY app ./app
# Every dependency from the lock (versions and hashes), then the app itself.
RUN pip install --no-cache-dir --upgrade pip setuptools \
 && pip wheel --no-cache-dir --require-hashes --wheel-dir /wheels -r requirements.lock \
 && pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 QCR_DATA_DIR=/srv/var
RUN useradd --system --uid 10001 --home-dir /srv qcr
WORKDIR /srv
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels quality-credit-registry \
 && rm -rf /wheels
COPY --chown=qcr:qcr migrations ./migrations
COPY --chown=qcr:qcr app ./app
RUN mkdir -p /srv/var && chown qcr:qcr /srv/var
USER qcr
EXPOSE 8000
# The service runs as a login in qcr_service (DATABASE_URL) with QCR_CODE_SECRET set;
# it never migrates at start, so it never holds the owner's credentials. Migrate
# first with a one-off job of the same image, as the owner (README "Deployment"):
#   docker run --rm -e DATABASE_URL=<owner url> qcr python -m app migrate
CMD ["python", "-m", "app", "serve", "--no-migrate", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
