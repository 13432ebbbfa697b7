"""EDIFACT messages -> canonical documents."""
