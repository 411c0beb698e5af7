"""The web process: REST API, Socket.IO server and the pages."""
