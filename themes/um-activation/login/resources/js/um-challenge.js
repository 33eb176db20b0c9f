// The proof of work's widget (ALTCHA, bridge/web/challenge.py), CSP-friendly build: that
// build carries no worker, so the PBKDF2 one is registered here, from its own file beside
// the widget (a same-origin worker: script-src 'self' covers it; no blob:, no inline code).
// A module, as the widget's files are: run in order, after them.
const worker = new URL("../vendor/altcha/pbkdf2.js", import.meta.url);
globalThis.$altcha?.algorithms.set("PBKDF2/SHA-256", () => new Worker(worker));
