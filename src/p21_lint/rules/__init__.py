"""The built-in rules, registered explicitly: one module per family."""

from p21_lint.gates.endpoints import UntestedEndpoint
from p21_lint.rules.auth import UnauthenticatedRoute
from p21_lint.rules.errors import (
    ApiErrorWithoutCode,
    ApiErrorWithoutHandler,
    ErrorBypassesApiError,
    InternalsInErrorResponse,
    SwallowedException,
)
from p21_lint.rules.security import (
    CorsAnyOriginWithCredentials,
    HardcodedSecret,
    JwtWithoutVerification,
    NaiveTokenExpiry,
    PasswordWithoutHash,
    UnvalidatedInput,
)
from p21_lint.rules.sql import SqlDynamicIdentifier, SqlParameterCount, SqlValueInterpolation, SqlWrongPlaceholder

ALL_RULES = (
    UnauthenticatedRoute,
    UntestedEndpoint,
    SwallowedException,
    ErrorBypassesApiError,
    ApiErrorWithoutCode,
    ApiErrorWithoutHandler,
    InternalsInErrorResponse,
    JwtWithoutVerification,
    HardcodedSecret,
    CorsAnyOriginWithCredentials,
    PasswordWithoutHash,
    NaiveTokenExpiry,
    UnvalidatedInput,
    SqlValueInterpolation,
    SqlDynamicIdentifier,
    SqlWrongPlaceholder,
    SqlParameterCount,
)
