# All metadata lives in pyproject.toml, except the license (declared dynamic there).
# setuptools>=77 wants an SPDX expression and deprecates both the `license = {text = ...}` table
# (an error after 2027-02-18) and license classifiers; the expression form needs setuptools>=77,
# which needs Python>=3.9. So: say MPL-2.0 in whichever form the installed setuptools takes.
from setuptools import __version__ as setuptools_version, setup

if int(setuptools_version.split(".")[0]) >= 77:
    setup(license_expression="MPL-2.0")
else:
    setup(license="MPL-2.0")
