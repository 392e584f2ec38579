"""The route table of a Django / DRF project: `ROOT_URLCONF`, includes by string, by tuple with a namespace and
by list variable, `re_path` with named groups, function views with method and login decorators, class-based
views with mixins and `method_decorator`, a login_required wrapper in urls.py, a DRF router with a ModelViewSet
and its `@action`s, a mixin-built GenericViewSet whose basename comes from its queryset, DRF default permission
classes from settings and `AllowAny` overrides. Asserted exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from p21_lint.analysis.routes.table import RouteTable, build, settings_of
from p21_lint.check import run_check
from p21_lint.config import load_config
from p21_lint.engine.pool import check_files
from p21_lint.engine.runner import FileSettings
from p21_lint.files import discover

ROOT = Path(__file__).parent / "fixtures" / "routes" / "django_app"
VIEWSET = "shop.api.views.ProductViewSet"


@pytest.fixture(scope="module")
def table() -> RouteTable:
    config = load_config((ROOT,), ROOT / "pyproject.toml", {"jobs": 1, "cache": False})
    results = check_files(discover(config), FileSettings(rules=()), 1)
    assert [e for r in results for e in r.errors] == []
    return build([r.facts for r in results if r.facts is not None], settings_of(config))


def test_the_whole_table(table):
    rows = [(r.method, r.path, f"{r.file}:{r.line}", r.handler, r.authenticated, r.public, r.tests) for r in table.rows]
    pages, api = "tests/test_pages.py", "tests/test_api.py"
    assert rows == [
        ("ANY", "/", "pages/views.py:11", "pages.views.home", False, True, (f"{pages}:7",)),
        ("ANY", "/accounts/login/", "legacy/views.py:10", "legacy.views.login_page", False, True, ()),
        ("ANY", "/accounts/password/", "legacy/views.py:15", "legacy.views.change_password", True, False, ()),
        ("GET", "/api/catalog/", "shop/api/views.py:32", "shop.api.views.CatalogView", False, True, ()),
        ("GET", "/api/orders/", "shop/api/views.py:22", "shop.api.views.OrderViewSet", False, False, (f"{api}:23",)),
        ("GET", "/api/orders/{pk}/", "shop/api/views.py:22", "shop.api.views.OrderViewSet", False, False, ()),
        ("GET", "/api/ping/", "shop/api/views.py:39", "shop.api.views.ping", False, True, (f"{api}:28",)),
        ("GET", "/api/products/", "shop/api/views.py:10", VIEWSET, True, False, (f"{api}:15",)),
        ("POST", "/api/products/", "shop/api/views.py:10", VIEWSET, True, False, ()),
        ("GET", "/api/products/best-sellers/", "shop/api/views.py:18", f"{VIEWSET}.best_sellers", False, True, (f"{api}:18",)),
        ("GET", "/api/products/{pk}/", "shop/api/views.py:10", VIEWSET, True, False, (f"{api}:16",)),
        ("PUT", "/api/products/{pk}/", "shop/api/views.py:10", VIEWSET, True, False, ()),
        ("PATCH", "/api/products/{pk}/", "shop/api/views.py:10", VIEWSET, True, False, ()),
        ("DELETE", "/api/products/{pk}/", "shop/api/views.py:10", VIEWSET, True, False, ()),
        ("POST", "/api/products/{pk}/publish/", "shop/api/views.py:14", f"{VIEWSET}.publish", True, False, (f"{api}:17",)),
        ("GET", "/api/stats/", "shop/api/views.py:28", "shop.api.views.StatsAPIView.get", True, False, (f"{api}:29",)),
        ("GET", "/contact/", "pages/views.py:21", "pages.views.contact", False, False, ()),
        ("POST", "/contact/", "pages/views.py:21", "pages.views.contact", False, False, (f"{pages}:13",)),
        ("ANY", "/dashboard/", "pages/views.py:16", "pages.views.dashboard", True, False, (f"{pages}:10",)),
        ("ANY", "/health/", "pages/views.py:25", "pages.views.health", False, True, ()),
        ("ANY", "/legacy/{slug}/", "legacy/views.py:6", "legacy.views.page", False, False, (f"{pages}:20",)),
        ("GET", "/profile/", "pages/views.py:33", "pages.views.ProfileView", True, False, ()),
        ("ANY", "/reports/{year}/", "pages/views.py:29", "pages.views.yearly_report", True, False, ()),
        ("GET", "/settings/", "pages/views.py:39", "pages.views.SettingsView.get", True, False, (f"{pages}:17",)),
        ("POST", "/settings/", "pages/views.py:42", "pages.views.SettingsView.post", True, False, ()),
    ]
    assert table.notes == ("config/urls.py:12: the Django admin site is not listed (Django requires a staff login)",)


def test_evidence_and_names(table):
    rows = {r.label: r for r in table.rows}
    assert rows["GET /api/products/"].auth_evidence == ("DEFAULT_PERMISSION_CLASSES = [IsAuthenticated] in settings",)
    assert rows["GET /api/products/"].name == "api:product-list"
    assert rows["GET /api/orders/{pk}/"].name == "api:order-detail"  # basename from `queryset = Order.objects.all()`
    assert rows["GET /api/products/best-sellers/"].public_reason == "permission_classes = [AllowAny] on @action"
    assert rows["GET /api/ping/"].public_reason == "permission_classes = [AllowAny] on `@permission_classes`"
    assert rows["GET /profile/"].auth_evidence == ("`LoginRequiredMixin`",)
    assert rows["GET /settings/"].auth_evidence == ("`@login_required`",)  # method_decorator(login_required, ...)
    assert rows["ANY /reports/{year}/"].auth_evidence == ("`@login_required`",)  # wrapped in urls.py
    assert rows["ANY /"].name == "pages:home"  # app_name of the included module


def test_findings_on_the_fixture():
    config = load_config((ROOT,), ROOT / "pyproject.toml", {"jobs": 1, "cache": False, "select": ["AUTH001"]})
    report = run_check(config)
    found = sorted((f.location.path, f.location.line, f.message.split(":")[0]) for f in report.findings)
    assert found == [
        ("legacy/views.py", 6, "`ANY /legacy/{slug}/` has no authentication"),
        ("pages/views.py", 21, "`GET /contact/`, `POST /contact/` have no authentication"),
        ("shop/api/views.py", 22, "`GET /api/orders/`, `GET /api/orders/{pk}/` have no authentication"),
    ]
    [drf] = [f for f in report.findings if f.location.path == "shop/api/views.py"]
    assert "set `permission_classes = [IsAuthenticated]`" in drf.message
