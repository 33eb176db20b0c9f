// The proof of work's widget (ALTCHA, bridge/web/challenge.py), CSP-friendly build: that
// build carries no worker, so the PBKDF2 one is registered here, from its own file (a
// same-origin worker: script-src 'self' covers it, no blob: and no inline code).
(function () {
  "use strict";
  var worker = document.currentScript && document.currentScript.dataset.worker;
  if (!worker || !globalThis.$altcha) {
    return;
  }
  ["PBKDF2/SHA-256"].forEach(function (algorithm) {
    globalThis.$altcha.algorithms.set(algorithm, function () {
      return new Worker(worker);
    });
  });
})();
