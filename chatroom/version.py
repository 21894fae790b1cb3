"""The release's version: pyproject.toml reads it from here, and /healthz and exports report it.

Here and not only in the package's metadata because a platform's buildpack installs the locked
dependencies and runs the app from its checkout, without installing the package itself.
"""

VERSION = "0.1.0"
