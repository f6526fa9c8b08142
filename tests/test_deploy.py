"""Production settings as a deployment runs them: `check --deploy` clean, static files collected into the
manifest storage (the Docker build step), S3 uploads configurable, client address behind our proxy."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
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


def test_static_files_collect_into_the_manifest_storage(tmp_path):
    """What the Dockerfile runs: every reference in CSS/JS must resolve (a vendored file naming a missing
    source map broke this once)."""
    env = _production_env(tmp_path)
    result = _manage(env, "collectstatic", "--noinput", "-v", "0")
    assert result.returncode == 0, result.stderr[-2000:]
    manifest = tmp_path / "static" / "staticfiles.json"
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
    import yaml

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
