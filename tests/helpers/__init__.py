"""What the tests share and that is neither a test nor a fixture (fixtures stay in the
conftest files, where pytest finds them). One small module per subject:

- `stack`: the Keycloak + SMTP + bridge stack the session starts, and its admin client;
- `accounts`: test students (a well-formed INE, attributes read back from Keycloak);
- `browserless`: an HTTP client that behaves like a browser, and Keycloak's login form;
- `keycloak_pages`: walks through Keycloak's pages (mailed links, required actions, portal);
- `forms`: reading the bridge's forms (the CSRF token);
- `pages`: reading the bridge's pages (their text);
- `activation`, `lost_password`, `console`: the bridge's flows, one step at a time;
- `mailbox`: what the SMTP sink received;
- `hostile`: hostile input (corpus and hypothesis strategies);
- `report`: lines printed in the session's summary.
"""
