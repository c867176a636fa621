"""`marketpulse demo`: the bundled real stream through the embedded runner, with a live view."""
