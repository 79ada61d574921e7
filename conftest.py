"""Root of the test suites; the shared fixtures come from ``clientpulse.shared.testing.plugin``."""
