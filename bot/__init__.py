"""Zhitang Assistant: gateway, launcher and settings (kept import-free so Rasa can load bot.rasa_ext.components)."""
