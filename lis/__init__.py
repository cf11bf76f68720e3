"""LIS: the Microsoft School Data Sync integration (sync selection, tenants, publication)."""
