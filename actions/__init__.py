"""Custom actions of Zhitang Assistant; rasa_sdk registers every concrete Action found here."""

from actions import handoff, language, service  # noqa: F401  (registers the actions)
