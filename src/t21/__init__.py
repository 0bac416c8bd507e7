"""T21: self-hostable social-media management."""

__version__ = "0.1.0"
