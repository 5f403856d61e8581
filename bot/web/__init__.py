"""The web app: one FastAPI app (app.py) that mounts the residents' gateway and the staff admin.

New channels (WeChat) and live handover go here, beside `gateway/` and `admin/`.
"""
