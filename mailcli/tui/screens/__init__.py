"""Screens of the TUI: main (tree/list/preview), message (full view), help, compose, pickers."""
