"""The supplier collaboration gateway application."""
