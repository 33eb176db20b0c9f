/*
 * Live checklist and strength meter of the new-password page.
 *
 * The rules mirror the realm's password policy (realm/um-realm.json):
 *   length(N)                      -> at least N characters (N comes from Keycloak)
 *   regexPattern((?=.*[^A-Za-z].*[^A-Za-z])[!#-&(-\[\]-_a-~]*)
 *                                  -> two non-alphabetic characters, and only printable
 *                                     ASCII without space, quotes, backslash, backtick.
 * Keycloak checks again on submit; this only tells the student before it does.
 * The browser tests compare both on the same passwords.
 */
(function () {
  "use strict";
  var rules = document.getElementById("um-password-rules");
  var password = document.getElementById("password-new");
  var confirm = document.getElementById("password-confirm");
  if (!rules || !password || !confirm) return;
  var data = rules.dataset;
  var minLength = parseInt(data.minLength, 10) || 10;

  var NAMED = { " ": data.nameSpace, "\"": data.nameQuote, "'": data.nameApostrophe,
                "\\": data.nameBackslash, "`": data.nameBacktick };
  var ASCII_LETTER = /[A-Za-z]/;
  var ANY_LETTER = /\p{L}/u;

  function allowed(ch) {  // [!#-&(-\[\]-_a-~]
    var code = ch.codePointAt(0);
    return code >= 0x21 && code <= 0x7e && !(ch in NAMED);
  }

  function describe(ch) {
    if (ANY_LETTER.test(ch) && !ASCII_LETTER.test(ch)) {
      return data.refusedAccented.replace("{0}", ch);
    }
    var name = NAMED[ch] || data.nameOther;
    var shown = ch.trim() === "" ? "" : "« " + ch + " » ";
    return data.refusedChar.replace("{0}", shown + name);
  }

  function check(value) {
    var chars = Array.from(value);
    var nonAlpha = chars.filter(function (c) { return !ASCII_LETTER.test(c); }).length;
    var accented = chars.filter(function (c) { return ANY_LETTER.test(c) && !ASCII_LETTER.test(c); });
    var refused = chars.filter(function (c) { return !allowed(c) && !(ANY_LETTER.test(c) && !ASCII_LETTER.test(c)); });
    return {
      length: value.length >= minLength,
      nonalpha: nonAlpha >= 2,
      accents: accented.length === 0,
      refused: refused.length === 0,
      firstRefused: accented.concat(refused).sort(function (a, b) {
        return value.indexOf(a) - value.indexOf(b);
      })[0]
    };
  }

  var zxcvbn = null;
  if (window.zxcvbnts && window.zxcvbnts.core) {
    var common = window.zxcvbnts["language-common"];
    var fr = window.zxcvbnts["language-fr"];
    var dictionary = Object.assign({}, common.dictionary, fr.dictionary);
    zxcvbn = new window.zxcvbnts.core.ZxcvbnFactory({
      dictionary: dictionary, graphs: common.adjacencyGraphs, translations: fr.translations
    });
  }

  function mark(id, ok, touched) {
    document.getElementById(id).dataset.state = !touched ? "todo" : ok ? "ok" : "ko";
    return touched && ok;
  }

  var lastStatus = "";
  function announce(met, total) {
    var status = met === 0 && !password.value ? ""
      : data.status.replace("{0}", met).replace("{1}", total);
    if (status !== lastStatus) {  // a live region speaks on every change of its text
      document.getElementById("um-checklist-status").textContent = status;
      lastStatus = status;
    }
  }

  function strength(value, result) {
    var meter = document.getElementById("um-strength");
    var label = document.getElementById("um-strength-value");
    if (!value) { meter.dataset.level = "none"; label.textContent = "—"; return; }
    var score = zxcvbn ? zxcvbn.check(value, [data.username]).score : 0;
    var meetsPolicy = result.length && result.nonalpha && result.accents && result.refused;
    var level = !meetsPolicy || score <= 1 ? "weak" : score === 2 ? "medium" : "strong";
    meter.dataset.level = level;
    label.textContent = level === "weak" ? data.strengthWeak
      : level === "medium" ? data.strengthMedium : data.strengthStrong;
  }

  function update() {
    var value = password.value;
    var touched = value.length > 0;
    var result = check(value);
    var met = [
      mark("um-rule-length", result.length, touched),
      mark("um-rule-nonalpha", result.nonalpha, touched),
      mark("um-rule-accents", result.accents, touched),
      mark("um-rule-refused", result.refused, touched),
      mark("um-rule-confirm", touched && confirm.value === value, confirm.value.length > 0)
    ].filter(Boolean).length;
    announce(met, 5);
    document.getElementById("um-refused-detail").textContent =
      result.firstRefused ? describe(result.firstRefused) : "";
    strength(value, result);
  }

  password.addEventListener("input", update);
  confirm.addEventListener("input", update);
  update();
})();
