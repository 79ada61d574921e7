"""The notifications domain: rules as plain functions."""
