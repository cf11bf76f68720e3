"""OAuth 2.0 client credentials for SDS (oneroster-1.1.md §1): scopes, validator, token endpoint."""
