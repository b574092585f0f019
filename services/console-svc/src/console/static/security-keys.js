/* Security keys and passkeys (WebAuthn) on the console's pages. Loaded from our own origin (the CSP
   allows no inline script); every page that uses it also works without it: the sign-in page keeps
   the authenticator app's code, the security keys page lists and removes keys.

   A form marked data-webauthn="create" (register a key) or "get" (sign in with one) is taken over:
   its submit asks the page at data-options-url for the options (the server keeps the ceremony's
   token), lets the browser make or use the key, writes the browser's answer as JSON into the
   form's hidden "credential" field, and then sends the form as usual. */
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !navigator.credentials || !window.fetch) {
    return;
  }
  document.documentElement.classList.add("js-webauthn");

  function toBytes(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) {
      base64 += "=";
    }
    var binary = atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i += 1) {
      bytes[i] = binary.charCodeAt(i);
    }
    return bytes.buffer;
  }

  function toText(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i += 1) {
      binary += String.fromCharCode(bytes[i]);
    }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withBinaryIds(list) {
    return (list || []).map(function (descriptor) {
      return Object.assign({}, descriptor, { id: toBytes(descriptor.id) });
    });
  }

  function creationOptions(json) {
    var options = Object.assign({}, json);
    options.challenge = toBytes(json.challenge);
    options.user = Object.assign({}, json.user, { id: toBytes(json.user.id) });
    options.excludeCredentials = withBinaryIds(json.excludeCredentials);
    return options;
  }

  function requestOptions(json) {
    var options = Object.assign({}, json);
    options.challenge = toBytes(json.challenge);
    options.allowCredentials = withBinaryIds(json.allowCredentials);
    return options;
  }

  function answerJson(credential) {
    var response = credential.response;
    var answer = {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: { clientDataJSON: toText(response.clientDataJSON) }
    };
    if (response.attestationObject) {
      answer.response.attestationObject = toText(response.attestationObject);
      answer.response.transports = response.getTransports ? response.getTransports() : [];
    } else {
      answer.response.authenticatorData = toText(response.authenticatorData);
      answer.response.signature = toText(response.signature);
      if (response.userHandle) {
        answer.response.userHandle = toText(response.userHandle);
      }
    }
    return answer;
  }

  function fetchOptions(form) {
    var body = new URLSearchParams();
    body.append("csrf_token", form.querySelector("input[name=csrf_token]").value);
    return fetch(form.getAttribute("data-options-url"), {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { Accept: "application/json" }
    }).then(function (reply) {
      return reply.json().then(function (json) {
        if (!reply.ok) {
          throw new Error(json.message || "");
        }
        return json.publicKey;
      });
    });
  }

  function takeOver(form) {
    var kind = form.getAttribute("data-webauthn");
    var status = form.querySelector(".webauthn-status");
    var button = form.querySelector("button[type=submit]");
    var name = form.querySelector("input[name=name]");

    form.addEventListener("submit", function (event) {
      if (name && !name.value.trim()) {
        return; // the server asks for the name, as without a script
      }
      event.preventDefault();
      button.disabled = true;
      status.textContent = form.getAttribute("data-waiting");
      fetchOptions(form)
        .then(function (options) {
          return kind === "create"
            ? navigator.credentials.create({ publicKey: creationOptions(options) })
            : navigator.credentials.get({ publicKey: requestOptions(options) });
        })
        .then(function (credential) {
          form.querySelector("input[name=credential]").value = JSON.stringify(answerJson(credential));
          form.submit();
        })
        .catch(function (problem) {
          button.disabled = false;
          status.textContent = (problem && problem.message && problem.name === "Error" && problem.message) ||
            form.getAttribute("data-failed");
        });
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("form[data-webauthn]"), takeOver);
})();
