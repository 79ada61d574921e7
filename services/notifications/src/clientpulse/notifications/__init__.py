"""The notifications service: who is told what, in-app inbox, live stream and webhooks."""
