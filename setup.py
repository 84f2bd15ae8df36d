# All metadata lives in pyproject.toml, except the license (declared dynamic there).
# The license is the `License` field (with the license classifier in pyproject.toml), not a
# PEP 639 `License-Expression`: pip before 25.1 (`pip show`, `pip-licenses`, ...) reads only
# the former and showed a blank license. setuptools>=77 refuses a license classifier beside an
# expression, and its `project.license = {text = ...}` table is deprecated (an error from
# 2027-02-18); this keyword is neither, and every setuptools from 61.2 on writes it.
from setuptools import setup

setup(license="MPL-2.0")
