// Checks a CNP as it is typed (format, birth date, check digit) and shows the message beside the
// field; the server checks it again on submit, so nothing depends on this script.
(function () {
  "use strict";
  var WEIGHTS = [2, 7, 9, 1, 4, 6, 3, 5, 8, 2, 7, 9];
  var CENTURY = { 1: 1900, 2: 1900, 3: 1800, 4: 1800, 5: 2000, 6: 2000 };

  function problem(value) {
    if (!/^[0-9]{13}$/.test(value)) return "length";
    var first = Number(value[0]);
    if (first === 0) return "date";
    var yy = Number(value.slice(1, 3)), mm = Number(value.slice(3, 5)), dd = Number(value.slice(5, 7));
    var year = CENTURY[first] ? CENTURY[first] + yy : null;
    if (year !== null) {
      var born = new Date(Date.UTC(year, mm - 1, dd));
      if (born.getUTCFullYear() !== year || born.getUTCMonth() !== mm - 1 || born.getUTCDate() !== dd) return "date";
    } else if (mm < 1 || mm > 12 || dd < 1 || dd > 31) {
      return "date";
    }
    var sum = 0;
    for (var i = 0; i < 12; i += 1) sum += Number(value[i]) * WEIGHTS[i];
    var check = sum % 11 === 10 ? 1 : sum % 11;
    return check === Number(value[12]) ? null : "checksum";
  }

  function attach(input) {
    var message = document.getElementById(input.getAttribute("data-cnp-message"));
    if (!message) return;
    function show() {
      var value = input.value.replace(/\s+/g, "");
      var found = value.length === 0 ? null : problem(value);
      var text = found ? input.getAttribute("data-cnp-" + found) : "";
      message.textContent = text || "";
      message.hidden = !text;
      if (text) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    }
    input.addEventListener("blur", show);
    input.addEventListener("input", function () {
      if (input.value.replace(/\s+/g, "").length >= 13 || !message.hidden) show();
    });
  }

  var inputs = document.querySelectorAll("input[data-cnp-message]");
  for (var i = 0; i < inputs.length; i += 1) attach(inputs[i]);
})();
