"""Request and response bodies of the clients API (separate create / update / read shapes), one module per entity."""
