# One image for web and workers. INSTALL_INFERENCE=1 adds torch and transformers (gpu-worker).
FROM python:3.11-slim
ARG INSTALL_INFERENCE=0
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DEMUR_DATA_DIR=/data
WORKDIR /app
COPY requirements/ requirements/
RUN pip install --no-cache-dir -r requirements/base.txt \
 && if [ "$INSTALL_INFERENCE" = "1" ]; then \
      pip install --no-cache-dir -r requirements/inference.txt; fi
COPY . .
RUN DJANGO_SECRET_KEY=build python manage.py collectstatic --no-input -v 0
RUN useradd --create-home demur && mkdir -p /data && chown demur /data
USER demur
EXPOSE 8000
CMD ["gunicorn", "config.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3"]
