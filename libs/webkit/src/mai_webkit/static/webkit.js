/* Enhancements only: every page works without this file. Loaded from our own origin (the CSP
   allows no inline script). When a form comes back with problems, the summary takes the focus so
   that a screen reader announces it and the keyboard starts from it. */
(function () {
  "use strict";
  var summary = document.querySelector(".error-summary");
  if (summary) {
    summary.focus();
  }
})();
