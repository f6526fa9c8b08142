"""axe-core (vendored from npm for tests only, tests/web/vendor/axe-core) over the main pages of the agent,
the supervisor and the warehouse, in zh-Hans at a desk and on a phone: no serious or critical violation.
Every violation found is printed with its rule, impact and first elements, and written to
artifacts/e2e/accessibility/violations.json."""

import json
from pathlib import Path

import pytest

from tests.web.test_e2e_browser import pytestmark as browser_marks  # noqa: F401  (the same skips and marks)
from tests.web.test_e2e_widths import DESK, PHONE, _seed, log_in, role_pages

pytestmark = browser_marks
AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
OUT = Path(__file__).resolve().parents[2] / "artifacts" / "e2e" / "accessibility"
BLOCKING = ("serious", "critical")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("width", [DESK, PHONE])
def test_main_pages_have_no_serious_accessibility_violation(browser_db, live_server, browser, width):
    people, ticket, subtask = _seed()
    base = live_server.url
    found: dict[str, list[dict]] = {}
    for role, paths in role_pages(ticket, subtask).items():
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        page.set_default_timeout(15_000)
        log_in(page, base, people[role])
        for name, path in paths.items():
            page.goto(f"{base}{path}")
            page.add_script_tag(path=str(AXE))
            result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
            for violation in result["violations"]:
                found.setdefault(f"{role} {name}", []).append({
                    "rule": violation["id"], "impact": violation["impact"], "help": violation["help"],
                    "nodes": [node["target"] for node in violation["nodes"][:3]],
                })
        context.close()

    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"violations-{width}.json").write_text(json.dumps(found, ensure_ascii=False, indent=1), encoding="utf-8")
    counts: dict[str, int] = {}
    for violations in found.values():
        for violation in violations:
            counts[violation["impact"]] = counts.get(violation["impact"], 0) + 1
    print(f"axe-core at {width} px over {sum(len(p) for p in role_pages(ticket, subtask).values())} pages: {counts}")
    blocking = {page: [v for v in violations if v["impact"] in BLOCKING] for page, violations in found.items()}
    blocking = {page: violations for page, violations in blocking.items() if violations}
    assert not blocking, json.dumps(blocking, ensure_ascii=False, indent=1)
