"""HTTP controllers of the clients service: parse, authorise, call the domain, map the result."""
