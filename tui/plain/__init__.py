"""`eonay --plain`: the same flow and services as plain lines of text.

For screen readers, braille displays and dumb terminals: no Textual, no escape
sequences, one line per thing said, each prompt a line ending in ": ". The card
stays in its own process (`CardProcessClient`), so PyKCS11 is not imported here
either.
"""
