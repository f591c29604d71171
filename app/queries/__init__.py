"""Every database query of pubapi lives in this package."""
