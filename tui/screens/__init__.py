"""One module per screen of the guide; each gets what it shows in its constructor."""
