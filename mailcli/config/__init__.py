"""Configuration: `load_config()` is the only public entry; the schema types live in schema."""
from mailcli.config.loader import load_config, parse_config
from mailcli.config.schema import AccountConfig, Config, GeneralConfig, Secret, SmtpConfig

__all__ = ["load_config", "parse_config", "Config", "AccountConfig", "GeneralConfig",
           "SmtpConfig", "Secret"]
