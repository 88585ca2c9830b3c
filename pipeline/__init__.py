"""cityqda: code qualitative interviews on migrant and refugee integration in cities."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("cityqda")
except PackageNotFoundError:  # running from a checkout without installing
    __version__ = "0.0.0+unknown"
