"""AUTH001: what counts as authentication, what makes a route public, and what the message asks for."""

from __future__ import annotations

import textwrap

from p21_lint.testing import lint_project

ONLY = 'select = ["AUTH001"]\n'

DEPS = '''
from typing import Annotated

from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer

import jwt

oauth2 = OAuth2PasswordBearer(tokenUrl="/token")


def get_current_user(token: Annotated[str, Depends(oauth2)]):
    return jwt.decode(token, "k", algorithms=["HS256"])


CurrentUser = Annotated[dict, Depends(get_current_user)]


def get_db():
    yield None
'''


def line(files: dict[str, str], path: str, text: str) -> tuple[str, int]:
    """(path, line) of the first line of `path` (as the test writes it) that contains `text`."""
    lines = textwrap.dedent(files[path]).splitlines()
    return path, next(i for i, content in enumerate(lines, 1) if text in content)


def found(files: dict[str, str], config: str = "") -> list[tuple[str, int]]:
    report = lint_project(files, ONLY + config)
    assert report.errors == ()
    return sorted((f.location.path, f.location.line) for f in report.findings if f.code == "AUTH001" and not f.suppressed)


def messages(files: dict[str, str], config: str = "") -> list[str]:
    report = lint_project(files, ONLY + config)
    return [f.message for f in report.findings if f.code == "AUTH001"]


def test_an_alias_from_another_module_authenticates():
    files = {
        "app/deps.py": DEPS,
        "app/main.py": '''
            from fastapi import FastAPI
            from app.deps import CurrentUser, get_db
            from fastapi import Depends

            app = FastAPI()

            @app.get("/me")
            def me(user: CurrentUser):
                return user

            @app.get("/orders")
            def orders(db=Depends(get_db)):
                return []
        ''',
    }
    assert found(files) == [line(files, "app/main.py", '@app.get("/orders")')]
    [message] = messages(files)
    assert message == (
        "`GET /orders` has no authentication: add a parameter `current_user: CurrentUser` or "
        "`dependencies=[Depends(get_current_user)]`; if it is public on purpose, say so with `# p21: public` on the "
        'route or `public = ["GET /orders"]` in [tool.p21-lint]'
    )


def test_dependencies_on_the_router_the_include_and_the_app():
    files = {
        "app/deps.py": DEPS,
        "app/routers/admin.py": '''
            from fastapi import APIRouter, Depends
            from app.deps import get_current_user

            router = APIRouter(prefix="/admin", dependencies=[Depends(get_current_user)])

            @router.get("/stats")
            def stats():
                return {}
        ''',
        "app/routers/reports.py": '''
            from fastapi import APIRouter

            router = APIRouter()

            @router.get("/reports")
            def reports():
                return []
        ''',
        "app/main.py": '''
            from fastapi import Depends, FastAPI
            from app.deps import get_current_user
            from app.routers import admin, reports

            app = FastAPI()
            app.include_router(admin.router)
            app.include_router(reports.router, dependencies=[Depends(get_current_user)])
        ''',
        "other/main.py": '''
            from fastapi import Depends, FastAPI
            from app.deps import get_current_user

            api = FastAPI(dependencies=[Depends(get_current_user)])

            @api.get("/anything")
            def anything():
                return {}
        ''',
    }
    assert found(files) == []


def test_dependencies_are_followed_transitively_to_a_security_scheme():
    files = {
        "app/main.py": '''
            from fastapi import Depends, FastAPI, Security
            from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

            app = FastAPI()
            bearer = HTTPBearer()


            class JWTBearer(HTTPBearer):
                pass


            def credentials(creds: HTTPAuthorizationCredentials = Depends(bearer)):
                return creds


            def current_user(creds=Depends(credentials)):
                return lookup(creds)


            def get_db():
                return None


            @app.get("/a")
            def a(user=Depends(current_user)):
                return user


            @app.get("/b")
            def b(user=Security(current_user, scopes=["items"])):
                return user


            @app.get("/c", dependencies=[Depends(JWTBearer())])
            def c():
                return {}


            @app.get("/d")
            def d(db=Depends(get_db)):
                return {}
        ''',
    }
    assert found(files) == [line(files, "app/main.py", '@app.get("/d")')]


def test_configured_dependencies_and_decorators():
    files = {
        "app/main.py": '''
            from fastapi import Depends, FastAPI

            app = FastAPI()


            def tenant_context():
                return "acme"


            @app.get("/tenant")
            def tenant(ctx=Depends(tenant_context)):
                return ctx
        ''',
    }
    assert found(files) == [line(files, "app/main.py", '@app.get("/tenant")')]
    assert found(files, 'auth-dependencies = ["tenant_context"]\n') == []
    assert found(files, 'auth-dependencies = ["app.main.tenant_context"]\n') == []


def test_public_routes_from_config_markers_and_defaults():
    files = {
        "app/main.py": '''
            from fastapi import FastAPI

            app = FastAPI()


            @app.get("/status")
            def status():
                return {}


            @app.post("/things")
            def create_thing():
                return {}


            @app.get("/things")
            def list_things():
                return []


            # p21: public - the partner feed is open data
            @app.get("/feed")
            def feed():
                return []


            @app.get("/health")
            def health():
                return {}


            @app.post("/auth/login")
            def login():
                return {}
        ''',
    }
    status, create, listing, health, login = (
        line(files, "app/main.py", f'@app.{route}")') for route in
        ('get("/status', 'post("/things', 'get("/things', 'get("/health', 'post("/auth/login')
    )
    assert found(files) == [status, create, listing]
    assert found(files, 'public = ["/status", "POST /things"]\n') == [listing]
    assert found(files, 'public = ["/sta*", "/things"]\n') == []
    # without the defaults, /health and /auth/login need auth too; the comment still counts
    assert found(files, 'public = ["/status", "/things"]\npublic-defaults = false\n') == [health, login]


def test_a_suppression_on_the_route_line():
    files = {
        "app/main.py": '''
            from fastapi import FastAPI

            app = FastAPI()


            @app.get("/open")  # p21: ignore[AUTH001]
            def open_route():
                return {}
        ''',
    }
    assert found(files) == []


def test_flask_decorators_of_the_project_and_of_libraries():
    files = {
        "app/auth.py": '''
            from functools import wraps

            from flask import abort
            from flask_login import current_user


            def admin_required(f):
                @wraps(f)
                def wrapper(*args, **kwargs):
                    if not current_user.is_authenticated or not current_user.is_admin:
                        abort(403)
                    return f(*args, **kwargs)
                return wrapper


            def timed(f):
                return f
        ''',
        "app/views.py": '''
            from flask import Flask
            from flask_jwt_extended import jwt_required
            from tenants.security import tenant_login_required

            from app.auth import admin_required, timed

            app = Flask(__name__)


            @app.route("/admin")
            @admin_required
            def admin():
                return ""


            @app.route("/jwt")
            @jwt_required()
            def with_jwt():
                return ""


            @app.route("/tenant")
            @tenant_login_required
            def tenant():
                return ""


            @app.route("/timed")
            @timed
            def timed_view():
                return ""
        ''',
    }
    assert found(files) == [line(files, "app/views.py", '@app.route("/timed")')]
    [message] = messages(files)
    # the project's own decorators are suggested (ties go by name)
    assert message.startswith("`GET /timed` has no authentication: add `@admin_required`;")


def test_django_settings_decide_for_drf_and_middleware():
    views = '''
        from django.http import HttpResponse
        from rest_framework.views import APIView
        from rest_framework.response import Response


        class Stats(APIView):
            def get(self, request):
                return Response({})


        def page(request):
            return HttpResponse("")
    '''
    urls = '''
        from django.urls import path
        from shop import views

        urlpatterns = [
            path("stats/", views.Stats.as_view()),
            path("page/", views.page),
        ]
    '''
    settings = 'ROOT_URLCONF = "shop.urls"\n'
    drf = 'REST_FRAMEWORK = {"DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"]}\n'
    middleware = 'MIDDLEWARE = ["django.contrib.auth.middleware.LoginRequiredMiddleware"]\n'
    base = {"shop/views.py": views, "shop/urls.py": urls}
    stats, page = line(base, "shop/views.py", "def get("), line(base, "shop/views.py", "def page(")
    assert found({**base, "config/settings.py": settings}) == [stats, page]
    assert found({**base, "config/settings.py": settings + drf}) == [page]
    assert found({**base, "config/settings.py": settings + middleware}) == []


def test_router_subclasses_and_class_based_views_whose_base_carries_the_dependency():
    files = {
        "app/deps.py": DEPS,
        "app/routing.py": '''
            from fastapi import APIRouter


            class AuditedRouter(APIRouter):
                pass
        ''',
        "app/views.py": '''
            from fastapi import Depends, FastAPI
            from fastapi_utils.cbv import cbv

            from app.deps import CurrentUser, get_current_user, get_db
            from app.routing import AuditedRouter

            app = FastAPI()
            router = AuditedRouter(prefix="/items")


            class AuthenticatedView:
                user: CurrentUser


            @cbv(router)
            class ItemView(AuthenticatedView):
                db = Depends(get_db)

                @router.get("/")
                def list_items(self):
                    return []


            @cbv(router)
            class OpenView:
                db = Depends(get_db)

                @router.get("/open")
                def open_items(self):
                    return []


            app.include_router(router)
        ''',
    }
    assert found(files) == [line(files, "app/views.py", '@router.get("/open")')]
    [message] = messages(files)
    assert message.startswith("`GET /items/open` has no authentication")


def test_a_blueprint_hook_guards_its_blueprint_and_before_app_request_the_whole_app():
    files = {
        "app/__init__.py": '''
            from flask import Flask


            def create_app():
                app = Flask(__name__)
                from app.admin import admin
                from app.guard import guard
                from app.shop import shop
                app.register_blueprint(admin, url_prefix="/admin")
                app.register_blueprint(shop)
                return app
        ''',
        "app/admin.py": '''
            from flask import Blueprint, abort, session

            admin = Blueprint("admin", __name__)


            @admin.before_request
            def require_staff():
                if not session.get("staff"):
                    abort(401)


            @admin.route("/stats")
            def stats():
                return {}
        ''',
        "app/shop.py": '''
            from flask import Blueprint

            shop = Blueprint("shop", __name__)


            @shop.route("/cart")
            def cart():
                return {}
        ''',
    }
    assert found(files) == [line(files, "app/shop.py", '@shop.route("/cart")')]
    files["app/guard.py"] = '''
        from flask import Blueprint, redirect, url_for
        from flask_login import current_user

        guard = Blueprint("guard", __name__)


        @guard.before_app_request
        def login_first():
            if not current_user.is_authenticated:
                return redirect(url_for("auth.login"))
    '''
    files["app/__init__.py"] = files["app/__init__.py"].replace(
        "app.register_blueprint(shop)", "app.register_blueprint(shop)\n                app.register_blueprint(guard)")
    assert found(files) == []


def test_optional_authentication_is_public_by_design():
    files = {
        "app/deps.py": DEPS + '''

def get_current_user_authorizer(*, required: bool = True):
    return get_current_user if required else get_current_user_optional


def get_current_user_optional(token: str | None = None):
    return None


def article_from_path(slug: str, user=Depends(get_current_user_authorizer(required=False))):
    return slug
''',
        "app/main.py": '''
            from fastapi import Depends, FastAPI
            from app.deps import article_from_path, get_current_user_authorizer, get_current_user_optional

            app = FastAPI()


            @app.get("/articles")
            def articles(user=Depends(get_current_user_authorizer(required=False))):
                return []


            @app.get("/articles/{slug}")
            def article(article=Depends(article_from_path)):
                return article


            @app.get("/feed")
            def feed(user=Depends(get_current_user_optional)):
                return []


            @app.delete("/articles/{slug}")
            def delete(article=Depends(article_from_path), user=Depends(get_current_user_authorizer())):
                return None


            @app.put("/articles/{slug}")
            def update(article=Depends(article_from_path)):  # only an optional user, through article_from_path
                return article
        ''',
        "app/blog.py": '''
            from flask import Flask
            from flask_jwt_extended import jwt_optional, jwt_required

            blog = Flask(__name__)


            @blog.route("/posts")
            @jwt_optional
            def posts():
                return []


            @blog.route("/drafts")
            @jwt_required(optional=True)
            def drafts():
                return []
        ''',
    }
    assert found(files) == []
    report = lint_project(files, ONLY)
    assert report.findings == ()


def test_auth_objects_passed_to_decorators_and_read_only_permissions():
    files = {
        "api/auth.py": '''
            from flask_httpauth import HTTPTokenAuth

            token_auth = HTTPTokenAuth()
        ''',
        "api/users.py": '''
            from apifairy import authenticate
            from flask import Blueprint

            from api.auth import token_auth

            users = Blueprint("users", __name__)


            @users.route("/users", methods=["GET"])
            @authenticate(token_auth)
            def all_users():
                return []
        ''',
        "shop/views.py": '''
            from rest_framework.permissions import IsAuthenticatedOrReadOnly
            from rest_framework.response import Response
            from rest_framework.views import APIView


            class Articles(APIView):
                permission_classes = (IsAuthenticatedOrReadOnly,)

                def get(self, request):
                    return Response([])

                def post(self, request):
                    return Response({})
        ''',
        "shop/urls.py": '''
            from django.urls import path
            from shop.views import Articles

            urlpatterns = [path("articles/", Articles.as_view())]
        ''',
    }
    assert found(files) == []
    report = lint_project(files, ONLY)
    assert report.errors == ()


def test_routers_made_by_a_factory_and_mounted_by_a_helper_function():
    files = {
        "app/routing.py": '''
            from fastapi import APIRouter as BaseRouter


            def get_api_router_class(route_class):
                class _APIRouter(BaseRouter):
                    pass
                return _APIRouter


            APIRouter = get_api_router_class(None)
        ''',
        "app/deps.py": DEPS + '''

def Authenticator(scopes):
    return None


_ItemsRead = Authenticator({"items:read"})
ItemsRead = Annotated[dict, Depends(_ItemsRead)]
''',
        "app/items.py": '''
            from app.deps import ItemsRead
            from app.routing import APIRouter

            router = APIRouter(prefix="/items")


            @router.get("/")
            def items(auth: ItemsRead):
                return []


            @router.get("/count")
            def count():
                return 0
        ''',
        "app/versioning.py": '''
            def add_versioned_routers(app, api_router):
                app.include_router(api_router, prefix="/v1")
        ''',
        "app/main.py": '''
            from fastapi import FastAPI

            from app.items import router
            from app.versioning import add_versioned_routers

            app = FastAPI()
            add_versioned_routers(app, router)
        ''',
    }
    assert found(files) == [line(files, "app/items.py", '@router.get("/count")')]
    [message] = messages(files)
    assert message.startswith("`GET /v1/items/count` has no authentication")  # the helper's prefix applies
