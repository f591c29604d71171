"""Seed data: the parser of the captured page and the loader of the seed format."""
