"""Production settings as a deployment runs them: `check --deploy` clean, static files collected into the
manifest storage (the Docker build step), S3 uploads configurable, client address behind our proxy.

There is no Docker engine here, so docker-compose.yml, deploy/ and the Dockerfile are read, and their
commands run outside Docker as written: the web service's gunicorn command with its environment, its
health check, and Debian's nginx with deploy/*.conf (only the upstream address, the listening ports and
the certificate folder changed)."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory, override_settings
from django.urls import reverse

from aftersales.client_ip import client_ip

ROOT = Path(__file__).resolve().parent.parent


def _production_env(tmp_path, **extra) -> dict:
    # Not the test run's own switches (Playwright tests set DJANGO_ALLOW_ASYNC_UNSAFE for themselves).
    env = {k: v for k, v in os.environ.items()
           if k not in {"DJANGO_SETTINGS_MODULE", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    return {
        **env,
        "DJANGO_SETTINGS_MODULE": "aftersales.settings",
        "DEBUG": "false",
        "SECRET_KEY": "x" * 20 + "production-like-secret-key-with-enough-entropy-0123456789",
        "ALLOWED_HOSTS": "desk.example.com",
        "CSRF_TRUSTED_ORIGINS": "https://desk.example.com",
        "REDIS_URL": env.get("REDIS_URL") or "redis://127.0.0.1:6379/0",
        "STATIC_ROOT": str(tmp_path / "static"),
        "AFTERSALES_VAR_DIR": str(tmp_path / "var"),
        **extra,
    }


def _manage(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=240)


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = _manage(_production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.fixture(scope="module")
def collected_static(tmp_path_factory) -> Path:
    """What the Dockerfile's collectstatic step leaves in the image (/app/staticfiles)."""
    tmp_path = tmp_path_factory.mktemp("collected")
    result = _manage(_production_env(tmp_path), "collectstatic", "--noinput", "-v", "0")
    assert result.returncode == 0, result.stderr[-2000:]
    return tmp_path / "static"


def test_static_files_collect_into_the_manifest_storage(collected_static):
    """What the Dockerfile runs: every reference in CSS/JS must resolve (a vendored file naming a missing
    source map broke this once)."""
    manifest = collected_static / "staticfiles.json"
    assert manifest.exists()
    assert "vendor/chartjs/chart.umd.min.js" in manifest.read_text()


def test_media_storage_s3_selects_the_object_store(tmp_path):
    code = ("from django.conf import settings; import django; django.setup(); "
            "from django.core.files.storage import storages; "
            "print(type(storages['default']).__module__, settings.STORAGES['default']['OPTIONS']['bucket_name'])")
    env = _production_env(tmp_path, MEDIA_STORAGE="s3", S3_BUCKET="desk-evidence",
                          S3_ENDPOINT_URL="http://127.0.0.1:9000")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["storages.backends.s3", "desk-evidence"]

    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**env, "MEDIA_STORAGE": "ftp"},
                            capture_output=True, text=True)
    assert result.returncode != 0
    assert "MEDIA_STORAGE must be" in result.stderr


@override_settings(STORAGES={
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
})
def test_evidence_goes_through_the_storage_api(client, agent):
    """With an in-memory store as the default storage (as an object store would be), an upload lands there
    and is downloaded from there: nothing reads or writes the local disk directly."""
    from django.core.files.storage import default_storage

    from tests.factories import TicketFactory
    from tests.tickets.test_uploads import PNG

    ticket = TicketFactory(assignee=agent)
    client.force_login(agent)
    response = client.post(f"/api/v1/tickets/{ticket.pk}/attachments/",
                           {"file": SimpleUploadedFile("破损.png", PNG, content_type="image/png")})
    assert response.status_code == 201, response.content
    attachment = ticket.attachments.get()
    with default_storage.open(attachment.file.name) as stored:
        assert stored.read() == PNG
    assert not (Path(settings.MEDIA_ROOT) / attachment.file.name).exists()  # nothing went to the local disk

    download = client.get(reverse("tickets:attachment", args=[attachment.pk]))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PNG


@pytest.mark.parametrize(("proxies", "forwarded", "remote", "expected"), [
    (0, "203.0.113.9", "10.0.0.2", "10.0.0.2"),  # no proxy of ours: the header is the client's claim
    (1, "203.0.113.9", "10.0.0.2", "203.0.113.9"),  # nginx appended the address it saw
    (1, "6.6.6.6, 203.0.113.9", "10.0.0.2", "203.0.113.9"),  # a forged entry on the left is ignored
    (2, "203.0.113.9, 10.1.1.1", "10.0.0.2", "203.0.113.9"),
    (1, "", "10.0.0.2", "10.0.0.2"),  # header missing: the peer
])
def test_client_ip_behind_trusted_proxies(proxies, forwarded, remote, expected):
    request = RequestFactory().get("/", HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR=remote)
    with override_settings(TRUSTED_PROXY_COUNT=proxies):
        assert client_ip(request) == expected


def test_docker_compose_scales_web_and_worker_with_one_beat_and_one_migrate():
    """Read, not run (no Docker engine here): `--scale web=2 --scale worker=2` must be possible."""
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    web, worker, beat, migrate, proxy = (services[name] for name in ("web", "worker", "beat", "migrate", "proxy"))
    assert "ports" not in web and "container_name" not in web  # two replicas cannot share a host port
    assert "migrate" not in " ".join(web["command"])  # replicas must not migrate concurrently
    assert migrate["command"][-2:] == ["migrate", "--noinput"] and migrate["restart"] == "no"
    for service in (web, worker, beat):
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert service["environment"]["REDIS_URL"].startswith("redis://")  # cache, throttles, broker shared
        assert service["environment"]["TRUSTED_PROXY_COUNT"] == "1"
    assert "beat" in beat["command"] and "beat" not in worker["command"] and "-B" not in worker["command"]
    assert proxy["ports"] == ["${PORT:-8000}:80"]
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "http://web:8000" in conf and "resolver 127.0.0.11" in conf and "X-Forwarded-For" in conf


def test_compose_web_and_workers_reach_postgresql_through_pgbouncer_in_transaction_mode():
    """Read, not run: web, worker and beat connect to PgBouncer (transaction mode, in front of the postgres
    service) with server-side cursors off; migrate alone goes straight to PostgreSQL."""
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    pgbouncer = services["pgbouncer"]
    assert pgbouncer["image"].startswith("edoburu/pgbouncer:v")  # a pinned version, not :latest
    settings_ = pgbouncer["environment"]
    assert settings_["POOL_MODE"] == "transaction" and settings_["DB_HOST"] == "postgres"
    assert settings_["LISTEN_PORT"] == "5432" and settings_["AUTH_TYPE"] == "scram-sha-256"
    assert pgbouncer["depends_on"]["postgres"]["condition"] == "service_healthy" and "healthcheck" in pgbouncer
    for name in ("web", "worker", "beat"):
        environment = services[name]["environment"]
        assert urllib.parse.urlsplit(environment["DATABASE_URL"]).netloc.endswith("@pgbouncer:5432")
        assert environment["DATABASE_TRANSACTION_POOLING"] == "true"
    migrate = services["migrate"]
    assert urllib.parse.urlsplit(migrate["environment"]["DATABASE_URL"]).netloc.endswith("@postgres:5432")
    assert migrate["environment"]["DATABASE_TRANSACTION_POOLING"] == "false"
    assert migrate["depends_on"]["pgbouncer"]["condition"] == "service_healthy"  # web waits for migrate


def test_transaction_pooling_turns_server_side_cursors_off(tmp_path):
    """DATABASE_TRANSACTION_POOLING=true (the compose services behind PgBouncer) sets
    DISABLE_SERVER_SIDE_CURSORS on every PostgreSQL alias, the replica's too."""
    code = ("from django.conf import settings; d = settings.DATABASES; "
            "print({a: (d[a]['DISABLE_SERVER_SIDE_CURSORS'], d[a]['CONN_MAX_AGE']) for a in d})")
    env = _production_env(tmp_path, DATABASE_URL="postgres://u:p@pgbouncer:5432/aftersales",
                          REPLICA_DATABASE_URL="postgres://u:p@replica:5432/aftersales")
    pooled = _manage({**env, "DATABASE_TRANSACTION_POOLING": "true"}, "shell", "-c", code)
    assert pooled.stdout.strip().splitlines()[-1] == "{'default': (True, 60), 'replica': (True, 60)}", pooled.stderr
    direct = _manage(env, "shell", "-c", code)
    assert direct.stdout.strip().splitlines()[-1] == "{'default': (False, 60), 'replica': (False, 60)}", direct.stderr


# --- docker compose as written: plain http out of the box, TLS at nginx with deploy/docker-compose.tls.yml ---

COMPOSE = ROOT / "docker-compose.yml"
TLS_OVERRIDE = ROOT / "deploy" / "docker-compose.tls.yml"
HTTPS_SWITCHES = ("SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE")


def _services(path: Path = COMPOSE) -> dict:
    return yaml.safe_load(path.read_text())["services"]


def _dotenv(path: Path) -> dict:
    """KEY=VALUE lines, as docker compose reads an env_file (comments and blank lines skipped)."""
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if line.strip() and "=" in line
             and not line.lstrip().startswith("#"))
    return {key.strip(): value.strip().strip("\"'") for key, value in pairs}


def _interpolate(value: str, variables: dict) -> str:
    """Compose's `${VAR}`, `${VAR:-default}`, `${VAR-default}` and `$$`."""
    def substitute(match):
        name, operator, default = match.group(1), match.group(2), match.group(3)
        if operator == ":-" and not variables.get(name):
            return default
        if operator == "-" and name not in variables:
            return default
        return variables.get(name, "")

    value = re.sub(r"\$\{(\w+)(?:(:?-)([^}]*))?\}", substitute, value.replace("$$", "\0"))
    return value.replace("\0", "$")


def _nginx_headers(conf: str) -> dict:
    return dict(re.findall(r"proxy_set_header\s+(\S+)\s+([^;]+);", conf))


def test_compose_serves_plain_http_until_the_tls_override_is_added():
    """`docker compose up` as the README says answers on http://localhost:8000: the desk neither redirects
    to an https nobody serves nor sets cookies a browser keeps for https only. The TLS override turns all
    three on together with nginx-tls.conf and the certificates."""
    services = _services()
    for name in ("web", "migrate", "worker", "beat"):
        environment = services[name]["environment"]
        assert {key: environment[key] for key in HTTPS_SWITCHES} == dict.fromkeys(HTTPS_SWITCHES, "false")
    assert services["proxy"]["volumes"] == ["./deploy/nginx.conf:/etc/nginx/conf.d/default.conf:ro"]

    override = _services(TLS_OVERRIDE)
    assert override["web"]["environment"] == dict.fromkeys(HTTPS_SWITCHES, "true")
    assert override["proxy"]["volumes"] == [
        "./deploy/nginx-tls.conf:/etc/nginx/conf.d/default.conf:ro",  # same target: replaces nginx.conf
        "./deploy/certs:/etc/nginx/certs:ro",
    ]
    assert override["proxy"]["ports"] == ["443:443"]
    # Paths in an override are relative to the project directory (the first compose file's).
    for volume in override["proxy"]["volumes"]:
        assert (ROOT / volume.split(":")[0]).exists(), volume
    tls_conf = (ROOT / "deploy" / "nginx-tls.conf").read_text()
    assert "ssl_certificate /etc/nginx/certs/fullchain.pem;" in tls_conf
    assert "ssl_certificate_key /etc/nginx/certs/privkey.pem;" in tls_conf
    # Private keys stay out of git and out of the image.
    assert "deploy/certs" in (ROOT / ".dockerignore").read_text().split()
    assert (ROOT / "deploy" / "certs" / ".gitignore").read_text().splitlines()[1:] == ["*", "!.gitignore"]


@pytest.mark.parametrize("conf_name", ["nginx.conf", "nginx-tls.conf"])
def test_nginx_sets_the_forwarded_headers_itself(conf_name):
    """X-Forwarded-Proto is the scheme nginx received, never the client's header (Django trusts it as
    SECURE_PROXY_SSL_HEADER); X-Forwarded-For gets the address nginx saw appended, which is the entry
    TRUSTED_PROXY_COUNT=1 reads; Host keeps the browser's port for Django's CSRF origin check."""
    conf = (ROOT / "deploy" / conf_name).read_text()
    assert _nginx_headers(conf) == {
        "Host": "$http_host",
        "X-Forwarded-For": "$proxy_add_x_forwarded_for",
        "X-Forwarded-Proto": "$scheme",
    }
    assert "$http_x_forwarded_proto" not in conf
    assert "set $web http://web:8000;" in conf and "proxy_pass $web;" in conf


def test_tls_nginx_redirects_plain_http_to_https():
    conf = (ROOT / "deploy" / "nginx-tls.conf").read_text()
    plain = re.search(r"server \{\s*listen 80;(.*?)\}", conf, re.S)
    assert plain and plain.group(1).strip() == "return 301 https://$host$request_uri;"
    assert "listen 443 ssl;" in conf


def test_uploads_volume_is_created_owned_by_the_app_user_before_it_runs():
    """A new named volume takes the owner of the image's directory it is mounted on: /app/var/media must
    exist in the image, owned by desk, or uploads fail with PermissionError as the non-root user."""
    lines = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text()).splitlines()
    instructions = [line.split(None, 1) for line in lines if line.strip() and not line.startswith("#")]
    user_at = instructions.index(["USER", "desk"])
    workdir = [arg for keyword, arg in instructions[:user_at] if keyword == "WORKDIR"][-1]
    media = f"{workdir}/var/media"
    setup = [arg for keyword, arg in instructions[:user_at] if keyword == "RUN" and f"mkdir -p {media}" in arg]
    assert setup and re.search(rf"chown -R desk(:desk)? {workdir}/var\b", setup[0]), setup
    assert not [arg for keyword, arg in instructions if keyword == "VOLUME"]  # would freeze /app/var before chown
    volumes = {name: services["volumes"] for name, services in _services().items() if "volumes" in services}
    for name in ("web", "worker", "beat", "migrate"):
        assert f"media:{media}" in volumes[name]
    assert Path(settings.MEDIA_ROOT).relative_to(settings.VAR_DIR) == Path("media")  # MEDIA_ROOT = /app/var/media


def test_healthz_answers_any_host_and_is_never_redirected(client, db, settings):
    """Health checks call a replica by its own address (127.0.0.1:8000 in the container), which ALLOWED_HOSTS
    rightly leaves out; every other page still refuses that host."""
    settings.ALLOWED_HOSTS = ["desk.example.com"]
    settings.SECURE_SSL_REDIRECT = True

    health = client.get("/healthz", HTTP_HOST="127.0.0.1:8000")
    login = client.get("/accounts/login/", HTTP_HOST="127.0.0.1:8000")
    on_allowed_host = client.get("/accounts/login/", HTTP_HOST="desk.example.com")

    assert health.status_code == 200 and health.json()["database"] == "ok"
    assert login.status_code == 400  # DisallowedHost
    assert on_allowed_host.status_code == 301 and on_allowed_host["Location"].startswith("https://")


def _compose_env(tmp_path: Path, service: str, *files: Path, **local) -> dict:
    """The environment docker compose gives `service`: the image's, then .env (here .env.example with a real
    SECRET_KEY and ALLOWED_HOSTS=desk.example.com only), then the service's `environment` (later compose
    files win), then `local`: the addresses of this machine's PostgreSQL and Redis instead of the
    containers', and folders instead of the image's /app/var and /app/staticfiles."""
    dotenv = {
        **_dotenv(ROOT / ".env.example"),
        "SECRET_KEY": "compose-like-secret-" + "k" * 50,
        "ALLOWED_HOSTS": "desk.example.com",
    }
    environment = {}
    for path in (COMPOSE, *files):
        environment.update(_services(path)[service].get("environment", {}))
    return {
        "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}",  # `python`, `gunicorn` as in the image
        "HOME": str(tmp_path),
        "PYTHONUNBUFFERED": "1",
        **dotenv,
        **{key: _interpolate(str(value), dotenv) for key, value in environment.items()},
        "REDIS_URL": os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0",
        "AFTERSALES_VAR_DIR": str(tmp_path / "var"),
        "STATIC_ROOT": str(tmp_path / "static"),
        **local,
    }


def _deploy_warnings(env: dict) -> set[str]:
    result = _manage(env, "check", "--deploy")
    assert result.returncode == 0, result.stdout + result.stderr
    return set(re.findall(r"\(([\w.]+\.W\d+)\)", result.stdout + result.stderr))


def test_check_deploy_with_the_compose_environments(tmp_path):
    """With TLS at nginx (the override) the web service's settings are `check --deploy` clean. On plain
    http the three warnings that say so stay: nothing is silenced, because there really is no https yet."""
    assert _deploy_warnings(_compose_env(tmp_path, "web", TLS_OVERRIDE)) == set()
    assert _deploy_warnings(_compose_env(tmp_path, "web")) == {"security.W008", "security.W012", "security.W016"}


# --- the web service's command, its health check and nginx, run outside Docker ---


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen, log: Path, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"nothing listens on {port}:\n{log.read_text()[-3000:]}")


def _stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 301/302 comes back as an HTTPError we can look at


def _request(url: str, *, data: bytes | None = None, context=None, **headers) -> tuple[int, dict, str]:
    handlers = [_NoRedirect()] + ([urllib.request.HTTPSHandler(context=context)] if context else [])
    request = urllib.request.Request(url, data=data, headers={k.replace("_", "-"): v for k, v in headers.items()})
    try:
        with urllib.request.build_opener(*handlers).open(request, timeout=10) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


@contextmanager
def _nginx(tmp_path: Path, conf_name: str, upstream_port: int, cert_dir: Path | None = None):
    """Debian's nginx with deploy/<conf_name> as docker's nginx image includes it (inside `http {}`), changed
    only in the upstream address, the listening ports and the certificate folder. Yields {80: port, 443: port}."""
    if not shutil.which("nginx"):
        if os.environ.get("REQUIRE_SERVICES") == "1":  # CI installs it: missing there is a failure
            pytest.fail("nginx is missing (.ci/run installs nginx-light)")
        pytest.skip("needs nginx (apt-get install nginx-light)")
    ports = {80: _free_port(), 443: _free_port()}
    conf = (ROOT / "deploy" / conf_name).read_text()
    conf = conf.replace("http://web:8000", f"http://127.0.0.1:{upstream_port}")
    conf = conf.replace("listen 80;", f"listen 127.0.0.1:{ports[80]};")
    conf = conf.replace("listen 443 ssl;", f"listen 127.0.0.1:{ports[443]} ssl;")
    if cert_dir:
        conf = conf.replace("/etc/nginx/certs/", f"{cert_dir}/")
    prefix = tmp_path / f"nginx-{conf_name}"
    prefix.mkdir()
    (prefix / "default.conf").write_text(conf)
    temp_paths = " ".join(f"{kind}_temp_path {prefix}/{kind};" for kind in ("client_body", "proxy", "fastcgi",
                                                                              "uwsgi", "scgi"))
    (prefix / "nginx.conf").write_text(
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"daemon off; worker_processes 1; pid {prefix}/nginx.pid; error_log {prefix}/error.log;\n"
        + f"events {{ worker_connections 64; }}\nhttp {{ access_log {prefix}/access.log; {temp_paths}\n"
        + f"include {prefix}/default.conf; }}\n"
    )
    log = prefix / "error.log"
    process = subprocess.Popen(["nginx", "-p", str(prefix), "-e", str(log), "-c", str(prefix / "nginx.conf")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_for_port(ports[80], process, log, seconds=10)
        yield ports
    finally:
        _stop(process)


@contextmanager
def _header_echo():
    """An upstream that answers with the request headers it received, as JSON."""
    class Echo(BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.slow
def test_nginx_replaces_the_clients_forwarded_proto_and_appends_the_address_it_saw(tmp_path):
    """A client claiming X-Forwarded-Proto: https over plain http must not reach the desk as https."""
    with _header_echo() as upstream, _nginx(tmp_path, "nginx.conf", upstream) as ports:
        status, _, body = _request(f"http://127.0.0.1:{ports[80]}/tickets/", Host=f"desk.example.com:{ports[80]}",
                                   X_Forwarded_Proto="https", X_Forwarded_For="6.6.6.6")
    assert status == 200
    seen = json.loads(body)
    assert seen["x-forwarded-proto"] == "http"
    assert seen["x-forwarded-for"] == "6.6.6.6, 127.0.0.1"
    assert seen["host"] == f"desk.example.com:{ports[80]}"
    request = RequestFactory().get("/", HTTP_X_FORWARDED_FOR=seen["x-forwarded-for"], REMOTE_ADDR="10.0.0.9")
    with override_settings(TRUSTED_PROXY_COUNT=1):  # docker-compose.yml's value
        assert client_ip(request) == "127.0.0.1"  # the address nginx saw, not the forged one


@pytest.mark.slow
def test_tls_nginx_says_https_and_redirects_plain_http(tmp_path):
    import ssl

    certs = tmp_path / "certs"
    certs.mkdir()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=desk.example.com", "-keyout", certs / "privkey.pem", "-out", certs / "fullchain.pem"],
                   check=True, capture_output=True)
    context = ssl.create_default_context(cafile=certs / "fullchain.pem")
    context.check_hostname = False  # we connect to 127.0.0.1 with Host: desk.example.com
    with _header_echo() as upstream, _nginx(tmp_path, "nginx-tls.conf", upstream, cert_dir=certs) as ports:
        redirect = _request(f"http://127.0.0.1:{ports[80]}/tickets/?q=1", Host="desk.example.com")
        status, _, body = _request(f"https://127.0.0.1:{ports[443]}/tickets/", context=context,
                                   Host="desk.example.com", X_Forwarded_Proto="http")
    assert redirect[0] == 301 and redirect[1]["Location"] == "https://desk.example.com/tickets/?q=1"
    assert status == 200 and json.loads(body)["x-forwarded-proto"] == "https"


@pytest.fixture(scope="module")
def compose_web(tmp_path_factory, collected_static):
    """docker compose's `migrate` then `web` command, as the compose file writes them (gunicorn bound to a
    free port on 127.0.0.1 instead of 0.0.0.0:8000), with the compose environment and a database of its own
    on the test run's PostgreSQL server. Yields (port, environment)."""
    import psycopg2
    from django.db import connection

    tmp_path = tmp_path_factory.mktemp("compose-web")
    db = connection.settings_dict
    server = {"host": db["HOST"] or "127.0.0.1", "port": db["PORT"] or 5432, "user": db["USER"],
              "password": db["PASSWORD"] or None}
    name = f"aftersales_compose_test_{os.getpid()}"
    admin = psycopg2.connect(dbname="postgres", **server)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        # Like the compose postgres service's POSTGRES_INITDB_ARGS (UTF-8 locale for CJK trigram search).
        cursor.execute(f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8' "
                       "LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'")
    auth = urllib.parse.quote(server["user"]) + (f":{urllib.parse.quote(server['password'])}"
                                                  if server["password"] else "")
    database_url = f"postgres://{auth}@{server['host']}:{server['port']}/{name}"
    port = _free_port()
    services = _services()
    process = None
    try:
        migrate_env = _compose_env(tmp_path, "migrate", DATABASE_URL=database_url, STATIC_ROOT=str(collected_static))
        migrated = subprocess.run(services["migrate"]["command"], cwd=ROOT, env=migrate_env, capture_output=True,
                                  text=True, timeout=120)
        assert migrated.returncode == 0, migrated.stdout[-2000:] + migrated.stderr[-2000:]

        env = _compose_env(tmp_path, "web", DATABASE_URL=database_url, STATIC_ROOT=str(collected_static))
        command = list(services["web"]["command"])
        bind = command.index("--bind") + 1
        assert command[bind] == "0.0.0.0:8000"
        command[bind] = f"127.0.0.1:{port}"
        log = tmp_path / "gunicorn.log"
        with open(log, "w") as out:
            process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        _wait_for_port(port, process, log)
        yield port, env
    finally:
        if process:
            _stop(process)
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.mark.slow
@pytest.mark.postgres
def test_compose_web_passes_its_own_health_check_and_serves_login_on_plain_http(compose_web):
    port, env = compose_web
    healthcheck = _services()["web"]["healthcheck"]["test"]
    assert healthcheck[0] == "CMD" and "http://127.0.0.1:8000/healthz" in healthcheck[-1]
    command = [*healthcheck[1:-1], healthcheck[-1].replace(":8000/", f":{port}/")]

    # ALLOWED_HOSTS is desk.example.com only; the check calls 127.0.0.1.
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr[-2000:]

    status, headers, page = _request(f"http://127.0.0.1:{port}/accounts/login/", Host="desk.example.com")
    assert status == 200, (status, headers.get("Location"))  # not a redirect to https
    assert 'name="password"' in page
    cookie = headers["Set-Cookie"]
    assert "csrftoken=" in cookie and "secure" not in cookie.lower()  # a browser sends it back over http


@pytest.mark.slow
@pytest.mark.postgres
def test_login_form_posts_through_nginx_on_a_non_default_port(compose_web, tmp_path):
    """A browser at http://desk.example.com:PORT sends that Origin with the login form; nginx passes the
    Host with its port, so Django's CSRF check accepts the post (a wrong password re-shows the form)."""
    port, _ = compose_web
    with _nginx(tmp_path, "nginx.conf", port) as ports:
        origin = f"http://desk.example.com:{ports[80]}"
        status, headers, page = _request(f"http://127.0.0.1:{ports[80]}/accounts/login/", Host=origin[7:])
        assert status == 200, (status, headers.get("Location"))
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        cookie = re.search(r"csrftoken=([^;]+)", headers["Set-Cookie"]).group(1)
        form = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": "nobody", "password": "wrong"})
        status, _, page = _request(f"http://127.0.0.1:{ports[80]}/accounts/login/", data=form.encode(),
                                   Host=origin[7:], Origin=origin, Cookie=f"csrftoken={cookie}",
                                   Content_Type="application/x-www-form-urlencoded")
    assert status == 200, page[-1500:]  # 403 would be the CSRF origin check failing
    assert 'name="password"' in page


def test_gunicorn_serves_with_threaded_workers_wherever_it_is_started():
    """gunicorn reads ./gunicorn.conf.py from its working directory: the image's /app (the whole checkout is
    copied there), `make run`'s and the bench's checkout. The compose web command gets gthread workers with
    GUNICORN_THREADS threads (4 unless set), its own --workers kept."""
    assert "gunicorn.conf.py" not in (ROOT / ".dockerignore").read_text().split()
    assert "COPY . ." in (ROOT / "Dockerfile").read_text()
    command = _services()["web"]["command"]
    assert command[0] == "gunicorn"
    for threads, expected in ((None, "4"), ("2", "2")):
        env = {k: v for k, v in os.environ.items() if k != "GUNICORN_THREADS"} | (
            {"GUNICORN_THREADS": threads} if threads else {})
        printed = subprocess.run([sys.executable, "-m", "gunicorn", "--print-config", *command[1:]], cwd=ROOT,
                                 env=env, capture_output=True, text=True, timeout=60)
        config = dict(re.findall(r"^(\w+)\s+= (.*)$", printed.stdout, re.M))
        assert (config["worker_class"], config["threads"], config["workers"]) == ("gthread", expected, "3"), printed
