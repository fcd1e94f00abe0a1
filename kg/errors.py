"""The kg package's one exception tree. Every message says what to do next."""


class KGError(Exception):
    """Base of every error raised by ``kg``."""


class ConfigError(KGError):
    """A setting is invalid (the message names the setting and the env var)."""
