"""OAuth2 provider presets: endpoints and mail scopes (IMAP, POP3, SMTP, offline access).

Data, not code: `PROVIDERS[name]` is read by the config loader (presets for
`oauth2_provider`) and by server discovery (which providers need OAuth2).
`authorize_params` are extra query parameters the provider needs to hand out a refresh
token (Google gives one only with access_type=offline).
"""
from __future__ import annotations

from typing import Any

PROVIDERS: dict[str, dict[str, Any]] = {
    "google": {
        "authorize_url": "https://accounts.google.com/o/oauth2/v2/auth",
        "token_url": "https://oauth2.googleapis.com/token",
        "device_url": "https://oauth2.googleapis.com/device/code",
        "scopes": ["https://mail.google.com/"],
        "authorize_params": {"access_type": "offline", "prompt": "consent"},
        "console": "https://console.cloud.google.com/apis/credentials",
    },
    "microsoft": {
        "authorize_url": "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
        "token_url": "https://login.microsoftonline.com/common/oauth2/v2.0/token",
        "device_url": "https://login.microsoftonline.com/common/oauth2/v2.0/devicecode",
        "scopes": ["https://outlook.office.com/IMAP.AccessAsUser.All",
                   "https://outlook.office.com/POP.AccessAsUser.All",
                   "https://outlook.office.com/SMTP.Send", "offline_access"],
        "authorize_params": {},
        "console": "https://entra.microsoft.com/#view/Microsoft_AAD_RegisteredApps",
    },
}

PROVIDER_NAMES = (*PROVIDERS, "custom")
