"""p21-lint: a linter and CI gate for Python web backends."""

__version__ = "0.1.0"
