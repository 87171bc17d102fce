"""One module per export format export() implements, each defining `FORMAT`
(exporters/format_spec.py); exporters.registry finds them here."""
