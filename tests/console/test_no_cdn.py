"""The console loads no script or style from elsewhere: the network may be closed, and a CDN's
file could change under us (issue 20 §1: vendored static files)."""

import re
from pathlib import Path

from django.contrib.staticfiles import finders

ROOT = Path(__file__).resolve().parents[2]
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", re.IGNORECASE)


def test_templates_reference_only_our_own_static_files() -> None:
    templates = sorted((ROOT / "templates").rglob("*.html"))
    assert templates
    offenders = [str(t.relative_to(ROOT)) for t in templates if EXTERNAL.search(t.read_text())]
    assert offenders == []


def test_vendored_libraries_are_found_with_their_licences() -> None:
    for path in (
        "vendor/htmx/htmx.min.js",
        "vendor/htmx/LICENSE",
        "vendor/chartjs/chart.umd.min.js",
        "vendor/chartjs/LICENSE.md",
        "console/tenant_picker.js",
        "console/meter_chart.js",
        "admin/js/vendor/select2/select2.full.min.js",  # the admin's own, for the pickers
    ):
        assert finders.find(path), path
    readme = (ROOT / "csms/static/vendor/README.md").read_text()
    assert "2.0.11" in readme and "4.6.1" in readme
