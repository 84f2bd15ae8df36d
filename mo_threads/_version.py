# 7.x: the successor of upstream mo-threads 6.x (same distribution name and import paths;
# CHANGELOG.md and docs/guide/migrating say what changed). pyproject.toml reads it from here.
__version__ = "7.0.0"
