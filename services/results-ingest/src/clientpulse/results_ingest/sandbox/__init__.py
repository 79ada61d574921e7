"""The platform sandbox: one HTTP server imitating the ad platforms' APIs for tests and the demo.

Production never talks to it. Data is deterministic per account (seeded from its id); faults are
injected per request (``X-Sandbox-Fault`` header) or queued per account (``POST /_sandbox/faults``).
"""
