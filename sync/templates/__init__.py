"""Package data: Jinja2 templates shipped with the bot."""
