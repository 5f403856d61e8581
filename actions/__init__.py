"""Custom actions of Zhitang Assistant; rasa_sdk registers every concrete Action found here."""

from actions import handoff, service  # noqa: F401  (registers the actions)
