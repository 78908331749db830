"""Reusable widgets of the TUI: folder tree, virtual message list, message body, status bar."""
