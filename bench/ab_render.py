"""A page's rendering, old templates against the current ones, with the same context, in one process.

    .venv/bin/python bench/ab_render.py /tickets/1000000/ --as agent22 --old 95a3a66 [--database aftersales_bench]

Requests the page once (through the view, which must render with aftersales.web.render_hot) to capture its
context, then renders it alternately with the Django templates of the old commit (`git show`, a Django engine
of their own) and with the current Jinja2 page in its Jinja2 shell, and prints the least and the median CPU of
each. The least is what a busy machine inflates least; the same context makes the difference the templates'.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.inprocess import environment  # noqa: E402

environment()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path")
    parser.add_argument("--as", dest="username", required=True)
    parser.add_argument("--old", required=True, help="the commit whose templates/ render the old page")
    parser.add_argument("--database", default="aftersales_bench")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--language", default="zh-hans")
    args = parser.parse_args(argv)
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    os.environ["DATABASE_URL"] = base.rsplit("/", 1)[0] + "/" + args.database

    old_root = Path(tempfile.mkdtemp(prefix="ab-render-"))
    archive = subprocess.run(["git", "archive", args.old, "templates"], cwd=ROOT, check=True, capture_output=True)
    tarfile.open(fileobj=BytesIO(archive.stdout)).extractall(old_root, filter="data")

    import django
    from django.conf import settings

    django.setup()
    settings.DEBUG = False
    from django.contrib.auth import get_user_model
    from django.template.backends.django import DjangoTemplates
    from django.test import Client
    from django.utils import translation

    import aftersales.web as web

    captured = {}
    render_hot = web.render_hot

    def capture(request, template_name, context, *, status=200):
        captured.update(request=request, name=template_name, context=context)
        return render_hot(request, template_name, context, status=status)

    for module in [m for m in sys.modules.values() if getattr(m, "render_hot", None) is render_hot]:
        module.render_hot = capture
    client = Client()
    client.force_login(get_user_model().objects.get(username=args.username))
    response = client.get(args.path)
    if response.status_code != 200 or not captured:
        print(f"{args.path}: {response.status_code}, not rendered with render_hot", file=sys.stderr)
        return 1
    engine = {key: value for key, value in settings.TEMPLATES[0].items() if key != "BACKEND"}
    old_engine = DjangoTemplates({**engine, "NAME": "old", "DIRS": [old_root / "templates"],
                                  "OPTIONS": {**engine.get("OPTIONS", {})}})
    old_template = old_engine.get_template(captured["name"])
    request, context = captured["request"], captured["context"]
    translation.activate(args.language)

    def old():
        return old_template.render(context, request).encode()

    def new():
        return render_hot(request, captured["name"], context).content

    times = {old: [], new: []}
    for run in range(args.runs):
        for render in (old, new) if run % 2 else (new, old):
            started = time.process_time()
            render()
            times[render].append((time.process_time() - started) * 1000)
    for label, render in (("old Django templates", old), ("Jinja2 page and shell", new)):
        print(f"{args.path} as {args.username}, {label}: {min(times[render]):.2f} ms least, "
              f"{statistics.median(times[render]):.2f} ms p50 CPU ({len(render()):,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
