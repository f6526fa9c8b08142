"""What the in-process bench scripts (profile_page, profile_intake, ab_render) set before Django starts: the
settings without production secrets (DEBUG itself is switched off by each script once Django is set up)."""

import os

# A bench sends a few hundred requests of one API page a run, runs back to back: never refused as a client
# too fast (429), in-process or through gunicorn.
UNTHROTTLED = {name: "1000000/minute" for name in ("THROTTLE_ANON", "THROTTLE_USER", "THROTTLE_INTAKE")}


def environment() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aftersales.settings")
    os.environ["DEBUG"] = "true"
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.update(UNTHROTTLED)
