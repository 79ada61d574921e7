"""The web console: pages for people, on the public gateway API, with the signed-in user's token."""
