"""Gunicorn's settings for this service.

Each worker holds a durable metrics slot and serves its own metrics port; the hooks
that keep it so are the template's (service_runtime/server/hooks.py), and the README's
"How the metrics ports work" tells how. The worker count is WEB_CONCURRENCY, which
gunicorn reads itself and the slots and ports are built from: set it there, never with -w.
Run gunicorn from this directory (the image's WORKDIR), where it finds this file.
"""

import os

from service_runtime.server.hooks import ServerHooks

# Read from the environment once; a value that breaks the design ends the start with one line.
hooks = ServerHooks.from_environment()
settings = hooks.settings

# WSGI or ASGI, as baked: the application and the one worker class that keeps the guarantees.
wsgi_app = settings.application
worker_class = settings.worker_class
preload_app = False  # each worker loads Django after it holds its slot
bind = settings.bind
timeout = settings.timeout
graceful_timeout = settings.graceful_timeout
max_requests = settings.max_requests
max_requests_jitter = settings.max_requests_jitter
accesslog = "-" if settings.access_log else None
errorlog = "-"
# Heartbeat files go to memory, so the container works with a read-only root filesystem.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# In the instance's private slot directory; off where its path is too long for a Unix socket.
control_socket = settings.control_socket
control_socket_disable = settings.control_socket_too_long

# The hooks, in the order gunicorn runs them.
on_starting = hooks.on_starting
when_ready = hooks.when_ready
nworkers_changed = hooks.nworkers_changed
pre_fork = hooks.pre_fork
post_fork = hooks.post_fork
post_worker_init = hooks.post_worker_init
worker_abort = hooks.worker_abort
worker_exit = hooks.worker_exit
child_exit = hooks.child_exit
on_exit = hooks.on_exit
