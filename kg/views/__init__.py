"""What the app's screens show, as data: one view per screen, rendered by the app and the CLI."""
