"""Request and response bodies of the tiering API (separate create and read shapes), one module per entity."""
