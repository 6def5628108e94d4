"""Package discovery; everything else is in pyproject.toml.

Every folder under ``posenc/`` is a package, and every folder under ``tasks/`` installs as
``posenc.tasks.*`` (the task specs live at the top of the repository). Folders of bundled data
(``posenc/resources/glue/CoLA``, ``tasks/glue``...) are found as namespace packages, so a new
subpackage or data folder ships without being listed anywhere, and setuptools has nothing to warn
about. Which files of a package ship is ``[tool.setuptools.package-data]``.
"""

from setuptools import find_namespace_packages, setup


def discovered() -> list[str]:
    skip = ["*.__pycache__", "*.egg-info"]
    own = find_namespace_packages(include=["posenc", "posenc.*"], exclude=skip)
    tasks = find_namespace_packages(include=["tasks", "tasks.*"], exclude=skip)
    return own + [f"posenc.{name}" for name in tasks]


setup(packages=discovered(), package_dir={"posenc.tasks": "tasks"})
