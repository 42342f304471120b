"""Product pictures: illustrations composed from open-licensed icon sets, and operator uploads."""
