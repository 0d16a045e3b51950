"""DNS blocklists: the catalog (blocklists.toml), how to ask a list, and how to read its answer.

A list answers an A record in 127.0.0.0/8 for a listed IP or domain (RFC 5782). Some of those
answers are not listings at all: refusals (public resolver, quota, missing key) and
misconfiguration codes. Those are read first and never reported as "listed"; a list whose
RFC 5782 negative test point is listed answers for everything and is never believed.

catalog.py (the model), loader.py (blocklists.toml), names.py (query names), reading.py (one
answer), lookup.py (asking a list), points.py (its RFC 5782 test points, asked once per session),
health.py (the lists themselves).
"""

from reputation.blocklists.catalog import Blocklist, Catalog, CatalogError
from reputation.blocklists.health import Health, health
from reputation.blocklists.loader import load_catalog, parse_catalog
from reputation.blocklists.lookup import lookup, lookup_many, unanswered
from reputation.blocklists.names import point_name, query_name
from reputation.blocklists.points import Points, TestPoints
from reputation.blocklists.reading import (
    LISTS_EVERYTHING,
    LOOKS_EMPTY,
    Reading,
    a_values,
    interpret,
    most_serious,
    read_values,
)

__all__ = [
    "LISTS_EVERYTHING",
    "LOOKS_EMPTY",
    "Blocklist",
    "Catalog",
    "CatalogError",
    "Health",
    "Points",
    "Reading",
    "TestPoints",
    "a_values",
    "health",
    "interpret",
    "load_catalog",
    "lookup",
    "lookup_many",
    "most_serious",
    "parse_catalog",
    "point_name",
    "query_name",
    "read_values",
    "unanswered",
]
