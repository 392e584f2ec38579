import os
import sys

# `python -m p21_lint` puts the working directory first on sys.path, and in a project's root that would let the
# project's own `yaml.py` or `click.py` be imported (and run) in place of the library p21-lint or bandit needs:
# p21-lint never runs the code it checks. The console script `p21-lint` has its own folder there instead.
if sys.path and sys.path[0] in ("", os.getcwd()):
    del sys.path[0]

from p21_lint.cli import main  # noqa: E402

main()
