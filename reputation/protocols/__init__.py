"""Sender-authentication protocols, pure of the report: SPF (RFC 7208), DMARC (RFC 7489)."""
