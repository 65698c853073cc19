"""Code shared by agent and server: the wire contract (``schema``) and the HTTP protocol (``protocol``)."""
