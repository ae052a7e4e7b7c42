"""The core: card, signature, portal and text rules. Never imports Textual."""
