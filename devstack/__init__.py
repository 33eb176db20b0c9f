"""Local dev tooling, not the runtime: the Keycloak and PostgreSQL runners, the SMTP sink,
the demo loader and `make dev` (`python -m devstack`, from the checkout's root).

It lives beside the `bridge` package, not in it: the wheel and the production image carry
no dev code (and no `aiosmtpd`, the `dev` extra). Unlike `bridge`, whose only reader of
the environment is `bridge.settings`, these tools read their own variables directly: ports
(`UM_KEYCLOAK_PORT`, `UM_KEYCLOAK_MANAGEMENT_PORT`, `UM_BRIDGE_PORT`, `UM_SMTP_PORT`), the
download cache (`UM_CACHE_DIR`, `XDG_CACHE_HOME`) and the JDK (`UM_JAVA_HOME`, `JAVA_HOME`).
"""
