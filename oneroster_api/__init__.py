"""The OneRoster 1.1 REST binding over the published records."""
