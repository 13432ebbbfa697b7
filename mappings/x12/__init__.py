"""ANSI X12 850, 855 and 856 transaction sets -> canonical documents."""
