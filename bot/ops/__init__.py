"""Running the assistant: processes (launcher), local PostgreSQL/Redis (services), scale-out (scaled), bench."""
