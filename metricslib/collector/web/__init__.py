"""The HTTP side: the server and its HTTP/1.1 layer, /federate, self-metrics, the API (api/) and the UI (ui/)."""
