"""Everything Rasa's own process imports (runs in .venv-rasa, Python 3.10, Rasa 3.6.21).

- `components`: the NLU components named in config.yml (tokenizer, cached DIET, language detector).
- `channel`: the REST channel named in credentials.yml (message metadata, shared token).
- `tracker_store`: the tracker store named in endpoints.yml.
- `patches`: profile-guided fixes to Rasa, applied explicitly by `patches.apply()` from the components.

Nothing here imports the web app, the actions or the KB: Rasa's environment pins older libraries.
"""
