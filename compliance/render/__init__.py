"""Renderers: turn computed results into text, tables and documents."""
