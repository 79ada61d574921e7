"""The tiering domain: rules as plain functions."""
