# The local stack's monitoring-config (compose.yaml): Python with the chart's renderer
# (Helm's Go SDK) to write the SLO rules and Alertmanager's configuration. Local use only.
ARG PYTHON_IMAGE=python:{{ cookiecutter.python_version }}-slim-bookworm
# checkov:skip=CKV_DOCKER_7: the base is a build argument whose default names a version tag, which checkov cannot resolve
# checkov:skip=CKV_DOCKER_2: a one-shot that renders files and exits: nothing to check the health of
# checkov:skip=CKV_DOCKER_3: it writes into the stack's volume as root, and exits
FROM ${PYTHON_IMAGE}
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH
COPY requirements-chart.txt /tmp/requirements-chart.txt
RUN python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir -r /tmp/requirements-chart.txt
