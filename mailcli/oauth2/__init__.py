"""OAuth2 for mail logins: provider presets (data), the token store, the token endpoint
client (refresh) and the interactive grants (authorization code + PKCE with a loopback
redirect, and the device flow). Built on oauthlib for the grant handling; HTTP is urllib.

Below mailcli.config in the layers: nothing here reads the config file or knows about
accounts beyond a name and a path. SASL encoding lives in mailcli.accounts.sasl.
"""
