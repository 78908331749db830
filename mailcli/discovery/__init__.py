"""Server discovery for `mailcli account add --email`: from an e-mail address to the IMAP,
POP3 and SMTP servers, trying in order the built-in provider table (providers.toml, no
network), the domain's autoconfig file, the Thunderbird ISPDB, RFC 6186 SRV records, the
ISPDB entry of the MX host's domain, and last the usual host names probed with TLS
verified. Part of the core: no UI, results as model objects (`Found`), errors as
`DiscoveryError` (a UsageError). The entry point is `discover()` in search.py."""
