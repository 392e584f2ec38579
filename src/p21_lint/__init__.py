"""p21-lint: a linter and CI gate for Python web backends."""

__version__ = "0.1.0"


def installed_version(package: str) -> str:
    """The installed version of a tool p21-lint runs (bandit, ruff), or "unknown"."""
    from importlib import metadata  # imported when asked: a run with nothing to check does not pay for it

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"
