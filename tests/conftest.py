import os

import pytest
from django.db import connection
from django.utils import translation

from tests.factories import make_user
from tests.mail_servers import imap_server, smtp_server  # noqa: F401 - the real Dovecot and aiosmtpd
from tests.redis_server import private_redis  # noqa: F401 - a fixture shared by the Redis-outage tests

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def pytest_collection_modifyitems(config, items):
    """Tests marked `postgres` need PostgreSQL; `redis` need REDIS_URL. Skipped locally without
    them; in CI (REQUIRE_SERVICES=1) they run, and fail loudly if the service is missing."""
    on_postgres = connection.vendor == "postgresql"
    has_redis = bool(os.environ.get("REDIS_URL"))
    missing = {
        "postgres": not on_postgres,
        "redis": not has_redis,
        "browser": not os.path.exists("/usr/bin/chromium"),
    }
    for item in items:
        db_marker = item.get_closest_marker("django_db")
        if db_marker and db_marker.kwargs.get("transaction") and not db_marker.kwargs.get("serialized_rollback"):
            # A transactional test flushes the database; without the rollback it takes the groups and
            # content types the migrations made with it, and the tests after it fail.
            raise pytest.UsageError(f"{item.nodeid}: transaction=True needs serialized_rollback=True")
        for marker, is_missing in missing.items():
            if marker in item.keywords and is_missing:
                if REQUIRE_SERVICES:
                    raise pytest.UsageError(f"{item.nodeid} needs {marker}, which is not configured")
                item.add_marker(pytest.mark.skip(reason=f"needs {marker} (set DATABASE_URL / REDIS_URL)"))


@pytest.fixture(autouse=True)
def english_by_default():
    """A request in Chinese leaves its language active in the thread; each test starts in English."""
    translation.activate("en")
    yield
    translation.deactivate()


@pytest.fixture
def agent(db):
    return make_user("agent", username="agent1", department=None)


@pytest.fixture
def senior(db):
    return make_user("senior_agent", username="senior1", department=None)


@pytest.fixture
def supervisor(db):
    return make_user("supervisor", username="super1", department=None)


@pytest.fixture
def warehouse_staff(db):
    return make_user("department_staff", username="wh1", department="warehouse")


@pytest.fixture
def finance_staff(db):
    return make_user("department_staff", username="fin1", department="finance")


@pytest.fixture
def admin_user(db):
    return make_user("admin", username="admin1", department=None)
