"""Publications as files: JSON Lines, CSV, BibTeX, RIS and CSL-JSON, with citation keys."""
