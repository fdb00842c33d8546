"""The Dramatiq adapter: actors that take ids and call one engine service each."""
