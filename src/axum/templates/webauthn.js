// Security keys and passkeys: turns the options a page carries into a
// navigator.credentials call, and posts the answer in the form's "code".
(function () {
  "use strict";
  function bytes(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    b64 += "===".slice(0, (4 - (b64.length % 4)) % 4);
    return Uint8Array.from(atob(b64), function (c) { return c.charCodeAt(0); });
  }
  function text(buffer) {
    if (!buffer) { return null; }
    var s = "";
    new Uint8Array(buffer).forEach(function (b) { s += String.fromCharCode(b); });
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function options(id) {
    return JSON.parse(document.getElementById(id).textContent).publicKey;
  }
  function ids(list) {
    return (list || []).map(function (c) { return Object.assign({}, c, { id: bytes(c.id) }); });
  }
  function post(button, value) {
    var form = button.form;
    var field = button.dataset.keyField ? document.getElementById(button.dataset.keyField) : form.querySelector("[name=code]");
    field.value = JSON.stringify(value);
    form.submit();
  }
  document.querySelectorAll("[data-key-get]").forEach(function (button) {
    button.addEventListener("click", function () {
      var o = options(button.dataset.keyGet);
      o.challenge = bytes(o.challenge);
      o.allowCredentials = ids(o.allowCredentials);
      navigator.credentials.get({ publicKey: o }).then(function (c) {
        post(button, {
          id: c.id, rawId: text(c.rawId), type: c.type,
          extensions: c.getClientExtensionResults(),
          response: {
            authenticatorData: text(c.response.authenticatorData),
            clientDataJSON: text(c.response.clientDataJSON),
            signature: text(c.response.signature),
            userHandle: text(c.response.userHandle)
          }
        });
      }).catch(function (e) { alert("The security key did not answer: " + e.message); });
    });
  });
  document.querySelectorAll("[data-key-create]").forEach(function (button) {
    button.addEventListener("click", function () {
      var o = options(button.dataset.keyCreate);
      o.challenge = bytes(o.challenge);
      o.user = Object.assign({}, o.user, { id: bytes(o.user.id) });
      o.excludeCredentials = ids(o.excludeCredentials);
      navigator.credentials.create({ publicKey: o }).then(function (c) {
        post(button, {
          id: c.id, rawId: text(c.rawId), type: c.type,
          extensions: c.getClientExtensionResults(),
          response: {
            attestationObject: text(c.response.attestationObject),
            clientDataJSON: text(c.response.clientDataJSON)
          }
        });
      }).catch(function (e) { alert("The security key did not answer: " + e.message); });
    });
  });
})();
