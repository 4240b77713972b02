"""The baked Dockerfile, built with buildah and run with podman the way the chart runs the pod.

One build of the default bake serves every test here. Its build context carries planted
secrets and local state, which `.dockerignore` must keep out. The image runs as the chart
runs it: the rendered ConfigMap and Secret as its environment, the init container's
`migrate` first, a read-only root with a shared writable /tmp, uid 10001, no capabilities.
The only change is that it binds loopback (host networking, nothing leaves this machine).
"""

from __future__ import annotations

import base64
import http.client
import itertools
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from tests.support import helm
from tests.support import image as podman_image
from tests.support.image import POD_LIKE, Container
from tests.support.manifests import env_configmap, one
from tests.support.ports import free_block, is_open
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.image, pytest.mark.e2e]

# Planted in the build context; none of it may reach the image.
PLANTED = {
    ".env": "DJANGO_SECRET_KEY=planted-secret-from-a-developer-laptop\n",
    ".env.local": "DATABASE_URL=postgres://planted\n",
    "db.sqlite3": "planted",
    "db.sqlite3-journal": "planted",
    ".venv/pyvenv.cfg": "planted",
    "venv/pyvenv.cfg": "planted",
    ".coverage": "planted",
    "htmlcov/index.html": "planted",
    ".git/HEAD": "ref: refs/heads/main\n",
}
NOT_IN_IMAGE = ("tests", "chart", ".env", ".env.local", "venv", ".venv", ".coverage", "htmlcov", ".git", "Dockerfile")
POD_IP_HOST = "10.244.3.17"
ARBITRARY_UID = "1000650000:0"  # as OpenShift's restricted SCC runs a pod: a random uid, group 0
GRACE_SECONDS = 35  # the chart's terminationGracePeriodSeconds for GUNICORN_GRACEFUL_TIMEOUT 30
names = (f"template-image-test-{os.getpid()}-{n}" for n in itertools.count())


@pytest.fixture(scope="module")
def tools() -> None:
    reason = podman_image.unavailable()
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="module")
def built(tools, default_project, tmp_path_factory, measure) -> str:
    """The default bake's image, built from a context that also holds files it must not take in."""
    context = tmp_path_factory.mktemp("image") / "context"
    shutil.copytree(default_project, context)
    for relative, text in PLANTED.items():
        (context / relative).parent.mkdir(parents=True, exist_ok=True)
        (context / relative).write_text(text)
    started = time.monotonic()
    base = podman_image.local_base("3.11")
    base_seconds = time.monotonic() - started
    tag = f"localhost/{default_project.name.replace('_', '-')}:template-test"
    build_seconds = podman_image.build(context, base, tag, context.parent)
    size = podman_image.image_config(tag)["Size"]
    measure("test_image", f"local base ready in {base_seconds:.1f}s; image built in {build_seconds:.1f}s")
    measure("test_image", f"image size {size / 1e6:.0f} MB")
    return tag


class Pod:
    """The chart's rendered environment for one pod, on free loopback ports."""

    def __init__(self, project: Path, scratch: Path, workers: int = 3) -> None:
        ports = free_block(workers + 2)
        self.http_port, self.metrics_ports = ports[0], ports[1 : workers + 1]
        self.next_port = ports[workers + 1]
        values = {
            "env": {
                "config": {
                    "HTTP_PORT": self.http_port,
                    "METRICS_START_PORT": self.metrics_ports[0],
                    "WEB_CONCURRENCY": workers,
                }
            }
        }
        docs = helm.render(project / "chart", values)
        self.config = dict(env_configmap(docs)["data"])
        secret = one(docs, "Secret")["data"]
        self.secret = {key: base64.b64decode(value).decode() for key, value in secret.items()}
        self.service_host = self.config["DJANGO_ALLOWED_HOSTS"].split(",")[0]
        self.tmp = scratch / "tmp-volume"  # the pod's emptyDir, shared by the init container and gunicorn
        self.tmp.mkdir()
        self.tmp.chmod(0o1777)
        env = {**self.config, **self.secret, "HTTP_BIND_ADDRESS": "127.0.0.1", "METRICS_BIND_ADDRESS": "127.0.0.1"}
        self.env = podman_image.env_file(scratch / "pod.env", env)
        self.config_only = podman_image.env_file(scratch / "configmap.env", dict(self.config))

    def options(
        self, user: str = "10001:10001", read_only: bool = True, secret: bool = True, writable_tmp: bool = True
    ) -> tuple[str, ...]:
        security = POD_LIKE if read_only else tuple(option for option in POD_LIKE if "read-only" not in option)
        env = self.env if secret else self.config_only
        tmp = ("--volume", f"{self.tmp}:/tmp:rw") if writable_tmp else ()
        return (*security, *tmp, "--user", user, "--env-file", str(env))

    def all_ports_answer(self) -> bool:
        return all(is_open(port) for port in [self.http_port, *self.metrics_ports])


def request(port: int, path: str, host: str, **headers: str) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path, headers={"Host": host, **headers})
    response = connection.getresponse()
    response.body = response.read()
    connection.close()
    return response


@pytest.fixture(scope="module")
def pod(built, default_project, tmp_path_factory, measure):
    """The init container's migrate, then gunicorn, both as the chart runs them."""
    scratch = tmp_path_factory.mktemp("pod")
    pod = Pod(default_project, scratch)
    migrate = podman_image.podman("run", "--rm", *pod.options(), built, "python", "manage.py", "migrate", "--noinput")
    pod.migrate_output = migrate.stdout
    started = time.monotonic()
    container = Container.start(next(names), built, *pod.options())
    try:
        wait_until(pod.all_ports_answer, timeout=60)
    except TimeoutError:
        pytest.fail(f"the container's ports never all answered:\n{container.logs()}")
    seconds = time.monotonic() - started
    measure("test_image", f"cold start (podman run to HTTP and all 3 metrics ports answering) {seconds:.2f}s")
    pod.container = container
    yield pod
    container.remove()


def test_init_container_migrate_succeeds_on_a_read_only_root(pod):
    assert "Applying auth.0001_initial... OK" in pod.migrate_output
    assert (pod.tmp / "db.sqlite3").stat().st_size > 0


def test_every_metrics_port_answers_and_the_next_does_not(pod):
    for port in pod.metrics_ports:
        response = request(port, "/metrics", "localhost")
        assert response.status == 200, port
        assert b"process_resident_memory_bytes" in response.body
    assert not is_open(pod.next_port)


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_answer_a_pod_ip_over_plain_http(pod, path):
    response = request(pod.http_port, path, f"{POD_IP_HOST}:{pod.http_port}")
    assert response.status == 200, response.body


def test_plain_http_is_redirected_to_https_and_forwarded_https_is_served(pod):
    redirected = request(pod.http_port, "/", pod.service_host)
    assert redirected.status == 301
    assert redirected.getheader("Location") == f"https://{pod.service_host}/"
    served = request(pod.http_port, "/", pod.service_host, **{"X-Forwarded-Proto": "https"})
    assert served.status == 200, served.body


def test_a_hashed_static_file_is_served_with_a_long_cache_lifetime(pod):
    read = "import json; print(json.load(open('staticfiles/staticfiles.json'))['paths']['admin/css/base.css'])"
    manifest = pod.container.exec("python", "-c", read)
    hashed = manifest.stdout.strip()
    assert hashed.startswith("admin/css/base.") and hashed != "admin/css/base.css", manifest.stderr
    response = request(pod.http_port, f"/static/{hashed}", pod.service_host, **{"X-Forwarded-Proto": "https"})
    assert response.status == 200
    assert "immutable" in response.getheader("Cache-Control", "")


def test_check_deploy_is_clean_inside_the_container(built, pod):
    check_deploy = ("python", "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    result = podman_image.podman("run", "--rm", *pod.options(), built, *check_deploy, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_image_config_is_non_root_exec_form_production_with_no_secret(built):
    config = podman_image.image_config(built)["Config"]
    assert config["User"] == "10001:10001"
    assert config["Cmd"] == ["gunicorn", "--config", "gunicorn.conf.py"]  # exec form: gunicorn is PID 1
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["DJANGO_SETTINGS_MODULE"] == "config.settings.production"
    assert env["DATABASE_URL"] == "sqlite:////tmp/db.sqlite3"
    everything = "\n".join(config["Env"]) + podman_image.image_history(built)
    assert "SECRET" not in everything.upper()
    assert "planted" not in everything


def test_the_image_holds_no_tests_chart_secrets_or_local_state(built, pod):
    listing = pod.container.exec("python", "-c", "import os; print('\\n'.join(os.listdir('.')))").stdout.split()
    assert not set(NOT_IN_IMAGE) & set(listing), listing
    assert not [name for name in listing if ".sqlite3" in name], listing
    find = "import importlib.util as u; print(u.find_spec('pip'), u.find_spec('setuptools'))"
    tools = pod.container.exec("python", "-c", find)
    assert tools.stdout.split() == ["None", "None"], "pip and setuptools stay in the build stage"


def test_an_arbitrary_uid_with_a_writable_root_writes_nothing_outside_tmp(built, default_project, tmp_path):
    """OpenShift runs a random uid in group 0; the README's one-container run migrates, then serves."""
    pod = Pod(default_project, tmp_path, workers=2)
    command = ("sh", "-c", "python manage.py migrate --noinput -v0 && exec gunicorn --config gunicorn.conf.py")
    # --passwd=false: podman would add the uid to /etc/passwd, which OpenShift does not do.
    options = (*pod.options(user=ARBITRARY_UID, read_only=False), "--passwd=false")
    container = Container.start(next(names), built, *options, command=command)
    try:
        wait_until(pod.all_ports_answer, timeout=60)
        assert request(pod.http_port, "/readyz", POD_IP_HOST).status == 200
        assert request(pod.http_port, "/", pod.service_host, **{"X-Forwarded-Proto": "https"}).status == 200
        # "C /etc" alone is podman creating its mount points for /etc/hosts, /etc/hostname and
        # /etc/resolv.conf (those files themselves are never listed); any file written would be.
        changes = [line for line in container.changes() if line.strip() and line != "C /etc"]
        assert changes == [], changes
    finally:
        container.remove()


def test_sigterm_stops_gunicorn_with_exit_0_within_the_grace_period(built, default_project, tmp_path):
    pod = Pod(default_project, tmp_path, workers=2)
    container = Container.start(next(names), built, *pod.options())
    try:
        wait_until(pod.all_ports_answer, timeout=60)
        code, seconds = container.stop(GRACE_SECONDS)
        assert code == 0, container.logs()
        assert seconds < GRACE_SECONDS
        assert "Shutting down: Master" in container.logs()
    finally:
        container.remove()


def test_a_missing_secret_key_exits_non_zero_naming_it(built, default_project, tmp_path):
    pod = Pod(default_project, tmp_path, workers=1)
    result = podman_image.podman("run", "--rm", *pod.options(secret=False), built, check=False, timeout=120)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stdout + result.stderr


def test_a_read_only_tmp_stops_gunicorn_with_one_line_saying_so(built, default_project, tmp_path):
    pod = Pod(default_project, tmp_path, workers=1)
    result = podman_image.podman("run", "--rm", *pod.options(writable_tmp=False), built, check=False, timeout=120)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "no writable temporary directory" in result.stderr
    assert "--tmpfs /tmp" in result.stderr


def pod_rss_megabytes(container: Container) -> dict[str, float]:
    """Resident memory of gunicorn's master and each worker, read from the host's /proc."""
    master = container.state()["Pid"]
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()

    def rss(pid) -> float:
        status = Path(f"/proc/{pid}/status").read_text()
        return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))) / 1024

    return {"master": rss(master), **{f"worker-{pid}": rss(pid) for pid in children}}


def test_a_loaded_pod_fits_the_charts_memory_limit(pod, default_project, measure):
    """Backs the chart's resources defaults: measured RSS of idle and loaded workers."""
    idle = pod_rss_megabytes(pod.container)
    https = {"X-Forwarded-Proto": "https"}
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda _: request(pod.http_port, "/", pod.service_host, **https).status, range(2000)))
    assert set(statuses) == {200}
    loaded = pod_rss_megabytes(pod.container)
    workers = [value for name, value in loaded.items() if name.startswith("worker")]
    assert len(workers) == len(pod.metrics_ports)
    limit = yaml.safe_load((default_project / "chart" / "values.yaml").read_text())["resources"]["limits"]["memory"]
    assert limit.endswith("Mi")
    idle_worker = max(v for k, v in idle.items() if k.startswith("worker"))
    # This pod runs 3 workers; the chart's default is 4 (RSS counts shared pages in each: an upper bound).
    projected = loaded["master"] + max(workers) * 4
    measure(
        "test_image",
        f"RSS: master {loaded['master']:.0f} MB, worker idle {idle_worker:.0f} MB, after 2000 requests"
        f" {max(workers):.0f} MB; 4 workers + master ~{projected:.0f} MB (limit {limit})",
    )
    assert projected < int(limit[:-2]) * 1.048576, "the default memory limit would OOM-kill a loaded pod"
