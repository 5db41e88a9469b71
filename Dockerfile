# One image for web and workers. INSTALL_INFERENCE=1 adds torch and transformers (gpu-worker).
FROM python:3.11-slim
ARG INSTALL_INFERENCE=0
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DEMUR_DATA_DIR=/data
WORKDIR /app
COPY requirements/ requirements/
RUN pip install --no-cache-dir -r requirements/base.txt \
 && pip install --no-cache-dir --no-deps -r requirements/no-deps.txt \
 && if [ "$INSTALL_INFERENCE" = "1" ]; then \
      pip install --no-cache-dir -r requirements/inference.txt; fi
COPY . .
# A throw-away key of its own: the image holds no key (the settings refuse a known one).
RUN DJANGO_SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(50))')" \
    DEMUR_DATA_DIR=/tmp/build-data python manage.py collectstatic --no-input -v 0 \
 && rm -rf /tmp/build-data
# /data/uploads exists in the image so that the volume mounted there starts out owned by demur.
RUN useradd --create-home demur && mkdir -p /data/uploads && chown demur /data /data/uploads
USER demur
EXPOSE 8000
CMD ["gunicorn", "config.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3"]
