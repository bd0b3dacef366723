"""Stand-ins for external services, served on loopback for tests."""
