"""Web gateway: the residents' chat widget, a town page, and a JSON API in front of Rasa's REST channel."""
