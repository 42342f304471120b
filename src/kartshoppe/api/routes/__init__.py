"""REST routes under /api/ecommerce, one module per concern."""
