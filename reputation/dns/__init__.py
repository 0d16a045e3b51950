"""DNS on the wire: the resolver, the lab server the tests and the demo use."""
