"""The built-in rules, registered explicitly: one module per family."""

from p21_lint.rules.errors import SwallowedException

ALL_RULES = (SwallowedException,)
