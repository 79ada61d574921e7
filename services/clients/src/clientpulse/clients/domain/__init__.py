"""The clients domain: rules as plain functions, free of HTTP and messaging."""
