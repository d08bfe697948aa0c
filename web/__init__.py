"""HTTP layer (wizard, chat, JSON API). Lands with the web interview issue; the only room that knows HTTP."""
