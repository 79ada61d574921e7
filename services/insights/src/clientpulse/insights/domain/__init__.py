"""The insights domain: rules as plain functions."""
