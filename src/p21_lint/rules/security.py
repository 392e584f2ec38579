"""SEC: the standard "Security best practices must be implemented throughout", for the backend traps bandit does not
see: JWT verification, literal secrets, CORS with credentials, password storage, naive token expiry, unvalidated
request bodies."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from p21_lint import cst
from p21_lint.analysis.errors import ENUM_BASES, string_value
from p21_lint.analysis.web import ROUTE, FunctionKinds
from p21_lint.engine.rule import Rule
from p21_lint.engine.walk import children
from p21_lint.model import Level

if TYPE_CHECKING:
    from p21_lint.engine.context import FileContext

STANDARD_SECURITY = "Security best practices must be implemented throughout"


def _args(call: cst.Call) -> tuple[list[cst.BaseExpression], dict[str, cst.BaseExpression]]:
    positional = [a.value for a in call.args if a.keyword is None and not a.star]
    keywords = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
    return positional, keywords


def _argument(call: cst.Call, index: int, keyword: str) -> cst.BaseExpression | None:
    positional, keywords = _args(call)
    if keyword in keywords:
        return keywords[keyword]
    return positional[index] if len(positional) > index else None


def _is(node: cst.BaseExpression | None, constant: str) -> bool:
    return isinstance(node, cst.Name) and node.value == constant


def _walk(node: cst.CSTNode):
    """Every node of an expression, outermost first (expressions are small: no visitor needed)."""
    todo = [node]
    while todo:
        current = todo.pop()
        yield current
        todo.extend(reversed(children(current)))


def _dict_items(node: cst.BaseExpression | None, qualified_name) -> dict[str, cst.BaseExpression]:
    """String-keyed items of a dict literal or a `dict(k=v)` call."""
    if isinstance(node, cst.Dict):
        return {k: e.value for e in node.elements if isinstance(e, cst.DictElement) and (k := string_value(e.key)) is not None}
    if isinstance(node, cst.Call) and qualified_name(node.func) == "builtins.dict":
        return _args(node)[1]
    return {}


# -- SEC001 ------------------------------------------------------------------------------------------------------
JWT_DECODERS = {"jwt.decode": "PyJWT", "jwt.api_jwt.decode": "PyJWT", "jose.jwt.decode": "python-jose"}
JWT_ENCODERS = frozenset({"jwt.encode", "jwt.api_jwt.encode", "jose.jwt.encode"})
AUTHLIB_DECODE = "authlib.jose.jwt.decode"


class JwtWithoutVerification(Rule):
    """A JWT decoded without pinned algorithms, with signature or expiry checks off, or accepting `none`."""

    code = "SEC001"
    name = "jwt-without-verification"
    standard = STANDARD_SECURITY
    severity = Level.HIGH
    cwe = 347
    IN_TESTS = False  # tests peek into tokens with verification off on purpose
    TRIGGERS = (b"jwt", b"jose")

    def __init__(self, context: FileContext, options: dict) -> None:
        super().__init__(context, options)
        self.unvalidated: list[dict[str, cst.Call]] = [{}]  # authlib claims not yet `.validate()`d, per function
        self.from_header: list[set[str]] = [set()]  # names bound to `jwt.get_unverified_header(...)`, per function

    def visit_Call(self, node: cst.Call) -> None:
        q = self.context.qualified_name(node.func)
        if q in JWT_DECODERS:
            problems = self._decode_problems(node)
            if problems:
                self.report(node, f"`jwt.decode` ({JWT_DECODERS[q]}) {'; '.join(problems)}")
        elif q in JWT_ENCODERS:
            algorithm = string_value(_argument(node, 2, "algorithm") or cst.Name("None"))
            if algorithm is not None and algorithm.lower() == "none":
                self.report(node, 'the token is signed with algorithm "none": anyone can forge it; sign with "HS256" '
                                  "and a secret from the environment, or RS256/ES256 and a private key")
        elif isinstance(node.func, cst.Attribute) and node.func.attr.value == "validate" and isinstance(node.func.value, cst.Name):
            self.unvalidated[-1].pop(node.func.value.value, None)
        if self.unvalidated[-1]:  # claims handed to another function: it may validate them
            for arg in node.args:
                if isinstance(arg.value, cst.Name):
                    self.unvalidated[-1].pop(arg.value.value, None)

    def _decode_problems(self, node: cst.Call) -> list[str]:
        problems = []
        options = _dict_items(_argument(node, 3, "options"), self.context.qualified_name)
        no_signature = _is(options.get("verify_signature"), "False") or _is(_args(node)[1].get("verify"), "False")
        if no_signature:
            problems.append("skips signature verification: anyone can forge a token; remove "
                            '`"verify_signature": False` and pass the key and `algorithms=["HS256"]`')
        if _is(options.get("verify_exp"), "False"):
            problems.append('ignores expiry (`"verify_exp": False`): a stolen token never stops working; remove it')
        algorithms = _argument(node, 2, "algorithms")
        if (algorithms is None or _is(algorithms, "None")) and not no_signature:
            problems.append("does not pin `algorithms`: the token's own header picks the algorithm (algorithm "
                            'confusion); pass `algorithms=["HS256"]` (the one you sign with)')
        elif algorithms is not None:
            for part in _walk(algorithms):
                if (string_value(part) or "").lower() == "none":
                    problems.append('accepts algorithm "none": unsigned tokens pass; list only the algorithm you sign with')
                    break
                if (isinstance(part, cst.Call) and self._unverified_header(part)) or (
                        isinstance(part, cst.Name) and part.value in self.from_header[-1]):
                    problems.append("takes `algorithms` from the unverified token header: the attacker chooses it; "
                                    'pin `algorithms=["HS256"]` (the one you sign with)')
                    break
        return problems

    # authlib: `claims = jwt.decode(token, key)` checks the signature only; `claims.validate()` checks exp/nbf/iat
    def _unverified_header(self, call: cst.Call) -> bool:
        return isinstance(call.func, (cst.Name, cst.Attribute)) and self.context.code_for(call.func).endswith("get_unverified_header")

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.unvalidated.append({})
        self.from_header.append(set())

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._report_unvalidated(self.unvalidated.pop())
        self.from_header.pop()

    def leave_Module(self, node: cst.Module) -> None:
        self._report_unvalidated(self.unvalidated.pop())

    def visit_Assign(self, node: cst.Assign) -> None:
        value = node.value
        if (len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name) and isinstance(value, cst.Call)
                and self.context.qualified_name(value.func) == AUTHLIB_DECODE):
            self.unvalidated[-1][node.targets[0].target.value] = value
        if any(isinstance(part, cst.Call) and self._unverified_header(part) for part in _walk(value)):
            self.from_header[-1].update(t.target.value for t in node.targets if isinstance(t.target, cst.Name))

    def visit_Return(self, node: cst.Return) -> None:
        value = node.value
        parts = [e.value for e in value.elements] if isinstance(value, cst.Tuple) else [value]
        for part in parts:  # the claims themselves returned: the caller may validate them
            if isinstance(part, cst.Name):
                self.unvalidated[-1].pop(part.value, None)

    def _report_unvalidated(self, pending: dict[str, cst.Call]) -> None:
        for name, call in pending.items():
            self.report(call, f"authlib's `jwt.decode` checks only the signature, and `{name}.validate()` is never "
                              f"called: expired tokens pass; call `{name}.validate()` before trusting the claims")


# -- SEC002 ------------------------------------------------------------------------------------------------------
SECRET_NAME = re.compile(
    r"(secret|passw(or)?d|passwd|pwd|passphrase|(secret|signing|private|api|encryption|hmac|jwt|access|master|app|auth)_?key)$",
    re.IGNORECASE,
)
_TEMPLATE = re.compile(r"^(\$\{[^}]*\}|\{\{.*\}\}|%\([^)]*\)s)$")
_ENV_LOOKUPS = frozenset({"os.getenv", "os.environ.get", "os.environ.setdefault", "decouple.config"})
_JWT_KEY_ARGUMENT = {  # qualified name -> (position of the key, keyword)
    "jwt.encode": (1, "key"), "jwt.decode": (1, "key"), "jose.jwt.encode": (1, "key"), "jose.jwt.decode": (1, "key"),
    "authlib.jose.jwt.encode": (2, "key"), "authlib.jose.jwt.decode": (1, "key"),
    "itsdangerous.URLSafeTimedSerializer": (0, "secret_key"), "itsdangerous.URLSafeSerializer": (0, "secret_key"),
}
_DOTTED_PATH = re.compile(r"^([a-z_][a-z0-9_]*\.)+[A-Za-z_][A-Za-z0-9_]*$")  # "app.auth.get_secret_key": a setting
_TEST_FILE = re.compile(r"(^|/)(test_[^/]*|[^/]*_test|conftest|tests?|testing)\.py$")


def _literal_secret(value: cst.BaseExpression | None, name: str) -> bool:
    """A string literal that is a secret: not empty, not a template placeholder, not the name itself (a field name)."""
    if not isinstance(value, (cst.SimpleString, cst.ConcatenatedString)):
        return False
    text = value.evaluated_value
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    if not isinstance(text, str) or not text.strip() or _TEMPLATE.match(text.strip()) or _DOTTED_PATH.match(text):
        return False
    return text.strip().lower().replace("-", "_") != name.lower()


class HardcodedSecret(Rule):
    """A literal signing key, application secret or password in the code."""

    code = "SEC002"
    name = "hardcoded-secret"
    standard = STANDARD_SECURITY
    severity = Level.HIGH
    cwe = 798
    IN_TESTS = False
    TRIGGERS = (b"secret", b"SECRET", b"Secret", b"key", b"KEY", b"Key", b"pass", b"PASS", b"Pass", b"pwd", b"PWD")

    def __init__(self, context: FileContext, options: dict) -> None:
        super().__init__(context, options)
        self.off = bool(_TEST_FILE.search(context.path))
        self.enums: list[bool] = []  # enclosing classes: is it an Enum (whose members are labels, not secrets)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        bases = [self.context.qualified_name(a.value) or "" for a in node.bases if a.keyword is None]
        self.enums.append(any(b in ENUM_BASES for b in bases))

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        self.enums.pop()

    def _flag(self, where: cst.CSTNode, name: str, how: str = "", subject: str = "") -> None:
        """Report at `where` (a name or a call, never the literal: the fingerprint must not hash the secret)."""
        env = name.upper() if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) else "SECRET_KEY"
        fix = how or f'read it from the environment (`os.environ["{env}"]`) or a secrets manager'
        self.report(
            where,
            f"{subject or f'`{name}`'} is a literal secret in the source: everyone with the code or its history can "
            f"use it (sign tokens, open the database); {fix}, and rotate the committed value",
            sensitive=True,
        )

    def _target(self, target: cst.BaseExpression, value: cst.BaseExpression | None) -> None:
        if isinstance(target, cst.Name):
            name, node = target.value, target
        elif isinstance(target, cst.Attribute):
            name, node = target.attr.value, target.attr
        elif isinstance(target, cst.Subscript) and len(target.slice) == 1 and isinstance(target.slice[0].slice, cst.Index):
            key = target.slice[0].slice.value
            name, node = string_value(key) or "", key
        else:
            return
        if SECRET_NAME.search(name) and _literal_secret(value, name):
            self._flag(node, name)

    def visit_Assign(self, node: cst.Assign) -> None:
        if not self.off and not (self.enums and self.enums[-1] and self.context.names.scopes[-1].kind == "class"):
            for target in node.targets:
                self._target(target.target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:  # pydantic settings: `SECRET_KEY: str = "..."`
        if not self.off and node.value is not None:
            self._target(node.target, node.value)

    def visit_Param(self, node: cst.Param) -> None:
        name = node.name.value
        if not self.off and SECRET_NAME.search(name) and _literal_secret(node.default, name):
            self._flag(node.name, name)

    def visit_DictElement(self, node: cst.DictElement) -> None:
        name = string_value(node.key)
        if not self.off and name and SECRET_NAME.search(name) and _literal_secret(node.value, name):
            self._flag(node.key, name)

    def visit_Call(self, node: cst.Call) -> None:
        if self.off:
            return
        for arg in node.args:
            if arg.keyword is not None and SECRET_NAME.search(arg.keyword.value) and _literal_secret(arg.value, arg.keyword.value):
                self._flag(arg.keyword, arg.keyword.value)
        q = self.context.qualified_name(node.func) or ""
        if q in _ENV_LOOKUPS:
            name = string_value(_argument(node, 0, "key") or cst.Name("None")) or ""
            default = _argument(node, 1, "default")
            if SECRET_NAME.search(name) and _literal_secret(default, name):
                lookup = q.removeprefix("decouple.")
                self._flag(node.func, name, f'use `os.environ["{name}"]` so a missing secret stops the app at start',
                           subject=f'the fallback of `{lookup}("{name}", ...)`')
        elif q in _JWT_KEY_ARGUMENT:
            index, keyword = _JWT_KEY_ARGUMENT[q]
            key = _argument(node, index, keyword)
            named = _args(node)[1].get(keyword) is key and SECRET_NAME.search(keyword)  # flagged as a keyword above
            if _literal_secret(key, "key") and not named:
                short = ".".join(q.split(".")[-2:])
                self._flag(node.func, "SECRET_KEY", subject=f"the key passed to `{short}`")


# -- SEC003 ------------------------------------------------------------------------------------------------------
CORS_MIDDLEWARES = frozenset({"fastapi.middleware.cors.CORSMiddleware", "starlette.middleware.cors.CORSMiddleware"})
MIDDLEWARE_WRAPPERS = frozenset({"starlette.middleware.Middleware", "fastapi.middleware.Middleware"})
FLASK_CORS = frozenset({"flask_cors.CORS", "flask_cors.cross_origin"})
_ORIGIN_PROBE = "https://attacker.example"


def _any_origin(value: cst.BaseExpression | None) -> bool:
    """`"*"`, `["*"]`, or a literal regex that matches any site."""
    if value is None:
        return False
    items = [e.value for e in value.elements] if isinstance(value, (cst.List, cst.Tuple, cst.Set)) else [value]
    for item in items:
        text = string_value(item)
        if text == "*":
            return True
        if text and any(c in text for c in ".*+"):
            try:
                if re.fullmatch(text, _ORIGIN_PROBE):
                    return True
            except re.error:
                pass
    return False


class CorsAnyOriginWithCredentials(Rule):
    """CORS that allows any origin together with credentials (cookies, Authorization)."""

    code = "SEC003"
    name = "cors-any-origin-with-credentials"
    standard = STANDARD_SECURITY
    severity = Level.HIGH
    cwe = 942
    IN_TESTS = False
    TRIGGERS = (b"CORS", b"cors")
    MESSAGE = (
        "CORS allows any origin together with credentials: the middleware then echoes each caller's Origin, so any "
        "website can send requests with your users' cookies or tokens and read the answers; list the allowed "
        "origins explicitly{fix}"
    )

    def __init__(self, context: FileContext, options: dict) -> None:
        super().__init__(context, options)
        self.django: dict[str, cst.CSTNode] = {}

    def visit_Call(self, node: cst.Call) -> None:
        q = self.context.qualified_name(node.func) or ""
        positional, keywords = _args(node)
        is_add = isinstance(node.func, cst.Attribute) and node.func.attr.value == "add_middleware"
        if (is_add or q in MIDDLEWARE_WRAPPERS) and positional and self.context.qualified_name(positional[0]) in CORS_MIDDLEWARES:
            any_origin = _any_origin(keywords.get("allow_origins")) or _any_origin(keywords.get("allow_origin_regex"))
            if any_origin and _is(keywords.get("allow_credentials"), "True"):
                self.report(node, self.MESSAGE.format(fix=' (`allow_origins=["https://app.example.com"]`)'))
        elif q in FLASK_CORS:
            self._flask_cors(node, keywords)

    def _flask_cors(self, node: cst.Call, keywords: dict[str, cst.BaseExpression]) -> None:
        credentials = _is(keywords.get("supports_credentials"), "True")
        if "resources" in keywords:
            resources = keywords["resources"]
            if not isinstance(resources, cst.Dict):
                return  # a variable or a pattern string: its options are not visible here
            hit = False
            for element in resources.elements:
                options = _dict_items(element.value, self.context.qualified_name) if isinstance(element, cst.DictElement) else {}
                origins = options.get("origins", keywords.get("origins"))
                resource_credentials = credentials or _is(options.get("supports_credentials"), "True")
                hit = hit or (resource_credentials and (origins is None or _any_origin(origins)))
        else:
            origins = keywords.get("origins")
            hit = credentials and (origins is None or _any_origin(origins))  # flask-cors defaults to every origin
        if hit:
            self.report(node, self.MESSAGE.format(fix=' (`CORS(app, origins=["https://app.example.com"], supports_credentials=True)`)'))

    def visit_Assign(self, node: cst.Assign) -> None:
        if len(self.context.names.scopes) != 1:
            return
        for target in node.targets:
            if isinstance(target.target, cst.Name) and _is(node.value, "True"):
                self.django[target.target.value] = target.target

    def leave_Module(self, node: cst.Module) -> None:
        allow_all = self.django.get("CORS_ALLOW_ALL_ORIGINS") or self.django.get("CORS_ORIGIN_ALLOW_ALL")
        if allow_all is not None and "CORS_ALLOW_CREDENTIALS" in self.django:
            self.report(allow_all, self.MESSAGE.format(fix=" (`CORS_ALLOWED_ORIGINS = [\"https://app.example.com\"]`)"))


# -- SEC004 ------------------------------------------------------------------------------------------------------
_PASSWORD = re.compile(r"(^|_)(password|passwd|pwd|passphrase)$", re.IGNORECASE)
_STORED = re.compile(r"^(password|passwd|pwd|passphrase)$", re.IGNORECASE)  # the column a record keeps it in
_HASHED = re.compile(r"hash|digest|crypt|encoded", re.IGNORECASE)
_CONFIG_ROOTS = frozenset({"settings", "config", "conf", "cfg", "os", "env", "environ", "secrets"})
_HASH_FIELD = re.compile(r"^(hashed_password|password_hash|password_digest|encrypted_password)$", re.IGNORECASE)
FAST_HASHES = frozenset(f"hashlib.{h}" for h in (
    "md5", "sha1", "sha224", "sha256", "sha384", "sha512", "sha3_224", "sha3_256", "sha3_384", "sha3_512",
    "blake2b", "blake2s", "new",
))
_ORM_WRITES = frozenset({"create", "update", "get_or_create", "update_or_create", "bulk_create"})
PASSWORD_FIX = ("store an argon2 or bcrypt hash instead (passlib `CryptContext(schemes=[\"argon2\", \"bcrypt\"])`, "
                "pwdlib, or Django's `make_password` / `user.set_password`) and check it with `verify(...)`")


def _field_name(expr: cst.BaseExpression) -> str:
    """The field an expression reads: `password` for `password`, `user.password`, `data["password"]`,
    `data.get("password")`, `form.password.data`."""
    if isinstance(expr, cst.Name):
        return expr.value
    if isinstance(expr, cst.Attribute):
        if expr.attr.value == "data" and isinstance(expr.value, cst.Attribute):  # WTForms: form.password.data
            return expr.value.attr.value
        return expr.attr.value
    if isinstance(expr, cst.Subscript) and len(expr.slice) == 1 and isinstance(expr.slice[0].slice, cst.Index):
        return string_value(expr.slice[0].slice.value) or ""
    if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and expr.func.attr.value == "get" and expr.args:
        return string_value(expr.args[0].value) or ""
    return ""


def _is_password(expr: cst.BaseExpression) -> bool:
    """A plain password by its name: `password`, `form.new_password`, `data["password"]`; not `hashed_password`."""
    name = _field_name(expr)
    return bool(_PASSWORD.search(name)) and not _HASHED.search(name)


def _is_stored(expr: cst.BaseExpression) -> bool:
    """`user.password`, `row["password"]`: the field a record keeps the password in (not `body.new_password`)."""
    return isinstance(expr, (cst.Attribute, cst.Subscript)) and bool(_STORED.match(_field_name(expr)))


def _is_configured(expr: cst.BaseExpression) -> bool:
    """`settings.SMTP_PASSWORD`, `os.environ["DB_PASSWORD"]`: a credential the app itself uses, not a user's."""
    root = expr
    while isinstance(root, (cst.Attribute, cst.Subscript, cst.Call)):
        root = root.func if isinstance(root, cst.Call) else root.value
    name = _field_name(expr)
    return (isinstance(root, cst.Name) and root.value in _CONFIG_ROOTS) or (name.isupper() and "_" in name)


class PasswordWithoutHash(Rule):
    """A password stored or compared in plain text, or hashed with a fast hash (md5, sha1, sha256...)."""

    code = "SEC004"
    name = "password-without-hash"
    standard = STANDARD_SECURITY
    severity = Level.HIGH
    cwe = 256
    IN_TESTS = False
    TRIGGERS = (b"password", b"passwd", b"pwd", b"PASSWORD", b"Password")

    def visit_Comparison(self, node: cst.Comparison) -> None:
        left = node.left
        for target in node.comparisons:
            right = target.comparator
            if isinstance(target.operator, (cst.Equal, cst.NotEqual)) and _is_password(left) and _is_password(right) \
                    and (_is_stored(left) or _is_stored(right)):
                self.report(node, f"`{self._show(left)}` and `{self._show(right)}` are compared as plain text: the "
                                  f"password is stored readable (or the check never matches a hash); {PASSWORD_FIX}")
                return
            left = right

    def visit_Assign(self, node: cst.Assign) -> None:
        value = node.value
        for target in node.targets:
            t = target.target
            if not isinstance(t, cst.Attribute) or _is(t.value, "self") or _is_configured(value):
                continue  # a record's field; not `self.password = password` in a constructor, not a config dict
            # `user.password = ...` may well be a hashing property setter (Flask tutorials, SQLAlchemy models);
            # a field named for the hash that gets the plain password is unambiguous
            if _HASH_FIELD.match(_field_name(t)) and _is_password(value) and not isinstance(value, cst.Call):
                self.report(node, f"`{self._show(t)}` is set to the plain-text `{self._show(value)}`; {PASSWORD_FIX}")

    def visit_Call(self, node: cst.Call) -> None:
        q = self.context.qualified_name(node.func) or ""
        if q in FAST_HASHES:
            for arg in node.args:
                if any(_is_password(part) for part in _walk(arg.value) if isinstance(part, cst.BaseExpression)):
                    self.report(node, f"`{q}` hashes a password with a fast hash: "
                                      "billions of guesses a second crack it; " + PASSWORD_FIX)
                    return
            return
        method = node.func.attr.value if isinstance(node.func, cst.Attribute) else ""
        # Django's manager writes store what they get (`create_user` hashes, and is fine)
        to_orm = method in _ORM_WRITES and "objects" in self.context.code_for(node.func)
        for arg in node.args:
            keyword = arg.keyword.value if arg.keyword is not None else ""
            plain = _is_password(arg.value) and not isinstance(arg.value, cst.Call) and not _is_configured(arg.value)
            if plain and (_HASH_FIELD.match(keyword) or (to_orm and _STORED.match(keyword))):
                self.report(arg, f"`{keyword}=` gets the plain-text `{self._show(arg.value)}`; {PASSWORD_FIX}")

    def _show(self, node: cst.CSTNode) -> str:
        text = " ".join(self.context.code_for(node).split())
        return text if len(text) <= 40 else text[:37] + "..."


# -- SEC005 ------------------------------------------------------------------------------------------------------
_NAIVE = {
    "datetime.datetime.utcnow": ("datetime.utcnow()", "datetime.now(timezone.utc)"),
    "datetime.datetime.utcfromtimestamp": ("datetime.utcfromtimestamp()", "datetime.fromtimestamp(ts, timezone.utc)"),
    "datetime.datetime.now": ("datetime.now()", "datetime.now(timezone.utc)"),
}
# a token's time: a JWT claim or a token named in the statement itself, or a token-making function around it
_CLAIM_WORDS = re.compile(r"\b(exp|iat|nbf)\b|token|jwt", re.IGNORECASE)
_TOKEN_WORDS = re.compile(r"token|jwt|otp", re.IGNORECASE)


class NaiveTokenExpiry(Rule):
    """A token's expiry computed from a naive datetime: `datetime.utcnow()`, `utcfromtimestamp()`, `now()`."""

    code = "SEC005"
    name = "naive-token-expiry"
    standard = STANDARD_SECURITY
    severity = Level.MEDIUM
    cwe = 613
    IN_TESTS = False
    TRIGGERS = (b"utcnow", b"utcfromtimestamp", b"now(")

    def __init__(self, context: FileContext, options: dict) -> None:
        super().__init__(context, options)
        self.statements: list[tuple[cst.CSTNode, ...]] = []  # the enclosing statement's code (not its comment)

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        self.statements.append(tuple(node.body))

    def leave_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        self.statements.pop()

    def visit_If(self, node: cst.If) -> None:
        self.statements.append((node.test,))

    def leave_If(self, node: cst.If) -> None:
        self.statements.pop()

    def visit_While(self, node: cst.While) -> None:
        self.statements.append((node.test,))

    def leave_While(self, node: cst.While) -> None:
        self.statements.pop()

    def visit_Call(self, node: cst.Call) -> None:
        q = self.context.qualified_name(node.func)
        if q not in _NAIVE or (q == "datetime.datetime.now" and node.args):
            return
        statement = " ".join(self.context.code_for(n) for n in self.statements[-1]) if self.statements else ""
        if not (_TOKEN_WORDS.search(self.context.names.scope_path()) or _CLAIM_WORDS.search(statement)):
            return
        call, fix = _NAIVE[q]
        why = ("the server's local time, naive: the token's expiry is off by the UTC offset" if q.endswith(".now")
               else "a naive datetime (deprecated since Python 3.12) that is wrong wherever it meets local time or an "
                    "aware datetime")
        self.report(node, f"`{call}` for a token's expiry is {why}; use `{fix}`")


# -- SEC006 ------------------------------------------------------------------------------------------------------
_UNTYPED = frozenset({"builtins.dict", "typing.Dict", "typing.Any", "typing.Mapping", "typing.MutableMapping",
                      "collections.abc.Mapping", "collections.abc.MutableMapping"})
_DEPENDS = frozenset({"fastapi.Depends", "fastapi.Security", "fastapi.params.Depends", "fastapi.params.Security"})
_REQUEST_TYPES = frozenset({"fastapi.Request", "starlette.requests.Request", "fastapi.requests.Request"})
_VALIDATORS = frozenset({"model_validate", "model_validate_json", "parse_obj", "parse_raw", "validate", "load",
                         "validate_python", "validate_json", "from_dict", "structure", "deserialize"})
_NOT_VALIDATION = frozenset({"JSONResponse", "Response", "JsonResponse", "HttpResponse", "ORJSONResponse"})


class UnvalidatedInput(Rule):
    """A route handler takes its body unvalidated: a `dict` / `Any` parameter, or the raw JSON used directly."""

    code = "SEC006"
    name = "unvalidated-request-body"
    standard = STANDARD_SECURITY
    severity = Level.MEDIUM
    cwe = 20
    IN_TESTS = False
    TRIGGERS = (b"json", b"dict", b"Dict", b"Any", b"Mapping", b"request.data", b"request.body")

    def __init__(self, context: FileContext, options: dict) -> None:
        super().__init__(context, options)
        self.kinds = FunctionKinds(context.path, context.qualified_name)
        # per enclosing function: None outside route handlers; else the raw reads, names validated, request names
        self.frames: list[dict | None] = []
        self.bound: dict[int, str] = {}  # id(raw read) -> the name it is assigned to
        self.inline: set[int] = set()  # ids of expressions passed straight to a validator

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.kinds.enter_class(node)

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        self.kinds.leave_class()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.kinds.enter_function(node)
        if self.kinds.current != ROUTE:
            self.frames.append(None)
            return
        requests = set()
        for param in (*node.params.posonly_params, *node.params.params, *node.params.kwonly_params):
            annotation = param.annotation.annotation if param.annotation is not None else None
            if param.name.value in ("request", "req") or (annotation is not None and self.context.qualified_name(annotation) in _REQUEST_TYPES):
                requests.add(param.name.value)
            elif annotation is not None and self._untyped(annotation) and not self._dependency(param):
                shown = " ".join(self.context.code_for(annotation).split())
                model = "".join(part.capitalize() for part in param.name.value.split("_")) or "Body"
                self.report(param, f"parameter `{param.name.value}: {shown}` of route handler `{node.name.value}` "
                                   "accepts any JSON body without validation; declare a Pydantic model "
                                   f"(`{param.name.value}: {model}`) so the framework validates and documents it")
        self.frames.append({"raw": [], "validated": set(), "requests": requests, "name": node.name.value})

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.kinds.leave_function()
        frame = self.frames.pop()
        if frame is None:
            return
        for raw, how in frame["raw"]:
            name = self.bound.get(id(raw))
            if id(raw) in self.inline or (name is not None and name in frame["validated"]):
                continue
            self.report(raw, f"route handler `{frame['name']}` reads the body with `{how}` and uses it unvalidated: "
                             "any shape, type or extra field reaches the code; declare a Pydantic model parameter "
                             "(FastAPI) or load it through a schema (pydantic / marshmallow / a DRF serializer)")

    def _untyped(self, annotation: cst.BaseExpression) -> bool:
        if isinstance(annotation, cst.Subscript):
            base = self.context.qualified_name(annotation.value)
            if base in ("typing.Optional", "typing.Annotated") and annotation.slice:
                first = annotation.slice[0].slice
                return isinstance(first, cst.Index) and self._untyped(first.value)
            return base in _UNTYPED
        if isinstance(annotation, cst.BinaryOperation):  # dict | None
            return self._untyped(annotation.left)
        return self.context.qualified_name(annotation) in _UNTYPED

    def _dependency(self, param: cst.Param) -> bool:
        """`payload: dict = Depends(decode_token)` or `Annotated[dict, Depends(...)]`: injected, not the body."""
        parts = [param.default] if param.default is not None else []
        if param.annotation is not None:
            parts.append(param.annotation.annotation)
        return any(isinstance(n, cst.Call) and self.context.qualified_name(n.func) in _DEPENDS
                   for part in parts for n in _walk(part))

    def visit_Assign(self, node: cst.Assign) -> None:
        value = node.value.expression if isinstance(node.value, cst.Await) else node.value
        if len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            self.bound[id(value)] = node.targets[0].target.value

    def visit_Call(self, node: cst.Call) -> None:
        frame = self.frames[-1] if self.frames else None
        if frame is None:
            return
        func = node.func
        callee = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
        validating = callee in _VALIDATORS or (callee[:1].isupper() and callee not in _NOT_VALIDATION)
        for arg in node.args:
            value = arg.value.expression if isinstance(arg.value, cst.Await) else arg.value
            if validating or (arg.keyword is not None and arg.keyword.value == "data"):
                self.inline.add(id(value))
                if isinstance(value, cst.Name):
                    frame["validated"].add(value.value)
        how = self._raw_read(node, frame)
        if how:
            frame["raw"].append((node, how))

    def visit_Attribute(self, node: cst.Attribute) -> None:
        frame = self.frames[-1] if self.frames else None
        if frame is not None and self.context.qualified_name(node) == "flask.request.json":
            frame["raw"].append((node, "request.json"))

    def _raw_read(self, node: cst.Call, frame: dict) -> str:
        func = node.func
        q = self.context.qualified_name(func) or ""
        if q == "flask.request.get_json":
            return "request.get_json()"
        if isinstance(func, cst.Attribute) and func.attr.value == "json" and isinstance(func.value, cst.Name) \
                and func.value.value in frame["requests"] and not q.startswith("flask."):
            return f"await {func.value.value}.json()"
        if q == "json.loads" and node.args:
            body = node.args[0].value
            if isinstance(body, cst.Attribute) and body.attr.value == "body" and isinstance(body.value, cst.Name) \
                    and body.value.value in frame["requests"]:
                return f"json.loads({body.value.value}.body)"
        return ""
