"""The web side of FirstCall: HTTP API, agent console, ops dashboard and reports."""
