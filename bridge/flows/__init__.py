"""Use cases, framework-free: each takes the gateway (through the narrow protocol it needs),
the clock's "now" and the limits, and returns a typed outcome (bridge.flows.outcomes). The
web pages and the jobs only translate outcomes into answers; nothing here knows HTTP,
Starlette or Keycloak's vocabulary."""
