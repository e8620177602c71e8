"""social-review: a Slack app that reviews social-media drafts against written guidelines."""

__version__ = "0.1.0"
