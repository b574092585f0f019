// The QR code of a certificate carries its verification code in the URL fragment (#code=...),
// which never reaches a server: this fills the code field from it. Without the script, the reader
// types the code printed on the certificate.
(function () {
  "use strict";
  var match = /(?:^#|&)code=([A-Za-z0-9-]{4,40})(?:&|$)/.exec(window.location.hash);
  if (!match) return;
  var field = document.getElementById("verification_code");
  if (field && !field.value) field.value = decodeURIComponent(match[1]);
  if (window.history && window.history.replaceState) {
    window.history.replaceState(null, "", window.location.pathname + window.location.search);
  }
})();
