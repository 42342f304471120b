"""The pure domain: catalog, cart, inventory and order rules as plain functions over plain data.

Each aggregate has `decide_*` functions (state + command -> events, raising `DomainError`) and an
`evolve_*` function (state + event -> state). Nothing here does I/O or knows about frameworks;
the only project import is the event contract.
"""
