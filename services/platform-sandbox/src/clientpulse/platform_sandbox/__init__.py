"""The platform sandbox: an HTTP server imitating the ad platforms' APIs (Meta Ads, Google Ads, TikTok Ads)
for tests and the local demo. A development tool: never deployed, never reached by production.

Data is deterministic per account (seeded from its id); faults are injected per request
(``X-Sandbox-Fault`` header) or queued per account (``POST /_sandbox/faults``). Each platform is one
module in ``imitations``.
"""
