"""Reusable widgets: PIN field, keypad, countdown, certificate list, code field."""
