/* The portal's passkey ceremonies (WebAuthn). Our own work; no library.
 *
 * Each <section data-passkey="sign-in|recover|register"> names two same-origin endpoints:
 * data-options answers {"options": PublicKeyCredential*OptionsJSON}; data-verify takes
 * {"credential": the browser's RegistrationResponseJSON / AuthenticationResponseJSON} and
 * answers {"redirect": url} or {"message": what to tell the person}. The page's CSRF token
 * goes in the X-CSRFToken header. Loaded with `defer` from this origin: the portal's CSP has
 * script-src 'self' and nothing inline.
 */
(function () {
  "use strict";

  var WAITING = "Đang chờ khóa truy cập trên thiết bị của bạn…";
  var CANCELLED = "Đã hủy hoặc hết thời gian chờ. Bạn có thể thử lại.";
  var FAILED = "Không thực hiện được. Hãy tải lại trang và thử lại.";
  var EXISTS = "Khóa truy cập trên thiết bị này đã có trong tài khoản.";

  function supported() {
    return Boolean(window.PublicKeyCredential && navigator.credentials &&
      typeof navigator.credentials.create === "function" && window.fetch);
  }

  function toBytes(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    var binary = atob(base64 + "===".slice((base64.length + 3) % 4));
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i += 1) { bytes[i] = binary.charCodeAt(i); }
    return bytes.buffer;
  }

  function toText(buffer) {
    var bytes = new Uint8Array(buffer), binary = "";
    for (var i = 0; i < bytes.length; i += 1) { binary += String.fromCharCode(bytes[i]); }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (d) {
      return { type: d.type, id: toBytes(d.id), transports: d.transports };
    });
  }

  function creationOptions(json) {
    var options = Object.assign({}, json);
    options.challenge = toBytes(json.challenge);
    options.user = Object.assign({}, json.user, { id: toBytes(json.user.id) });
    options.excludeCredentials = descriptors(json.excludeCredentials);
    return options;
  }

  function requestOptions(json) {
    var options = Object.assign({}, json);
    options.challenge = toBytes(json.challenge);
    options.allowCredentials = descriptors(json.allowCredentials);
    return options;
  }

  // The browser's own toJSON() where it has one (WebAuthn Level 3), else the same by hand.
  function credentialJSON(credential) {
    if (typeof credential.toJSON === "function") { return credential.toJSON(); }
    var r = credential.response, response = { clientDataJSON: toText(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toText(r.attestationObject);
      response.transports = typeof r.getTransports === "function" ? r.getTransports() : [];
    } else {
      response.authenticatorData = toText(r.authenticatorData);
      response.signature = toText(r.signature);
      if (r.userHandle) { response.userHandle = toText(r.userHandle); }
    }
    return {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      response: response,
      clientExtensionResults: credential.getClientExtensionResults(),
      authenticatorAttachment: credential.authenticatorAttachment || undefined
    };
  }

  function post(section, url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": section.dataset.csrf },
      body: JSON.stringify(body)
    }).then(function (answer) {
      return answer.json().catch(function () { return {}; }).then(function (data) {
        if (!answer.ok) { throw new Error(data.message || FAILED); }
        return data;
      });
    });
  }

  function ceremony(section, mediation, signal) {
    var mode = section.dataset.passkey;
    var code = section.querySelector("input[name=smart_otp_code]");
    var ask = code ? { smart_otp_code: code.value } : {}; // the step-up, once Smart OTP is on
    return post(section, section.dataset.options, ask).then(function (data) {
      if (mode === "register") {
        return navigator.credentials.create({ publicKey: creationOptions(data.options) });
      }
      var request = { publicKey: requestOptions(data.options) };
      if (mediation) { request.mediation = mediation; request.signal = signal; }
      return navigator.credentials.get(request);
    }).then(function (credential) {
      var body = { credential: credentialJSON(credential) };
      var name = section.querySelector("input[name=passkey_name]");
      if (name) { body.name = name.value; }
      return post(section, section.dataset.verify, body);
    }).then(function (data) {
      window.location.assign(data.redirect);
    });
  }

  function explain(error) {
    if (error && error.name === "NotAllowedError") { return CANCELLED; }
    if (error && error.name === "InvalidStateError") { return EXISTS; }
    if (error && error.name === "AbortError") { return ""; }
    return (error && error.message) || FAILED;
  }

  function start(section) {
    var button = section.querySelector(".passkey-button");
    var status = section.querySelector(".passkey-status");
    var unsupported = section.querySelector(".passkey-unsupported");
    if (!supported()) { return; } // the section already says so, in words
    unsupported.hidden = true;
    button.hidden = false;
    var autofill = null;

    // Sign-in: the browser may offer the passkeys in the identifier field's autofill.
    if (section.dataset.passkey === "sign-in" &&
        typeof PublicKeyCredential.isConditionalMediationAvailable === "function") {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
        if (!available) { return; }
        autofill = new AbortController();
        ceremony(section, "conditional", autofill.signal).catch(function (error) {
          if (error && error.name !== "AbortError" && error.name !== "NotAllowedError") {
            status.textContent = explain(error);
          }
        });
      });
    }

    button.addEventListener("click", function () {
      if (autofill) { autofill.abort(); autofill = null; } // one request at a time
      button.disabled = true;
      status.textContent = WAITING;
      ceremony(section, null, null).catch(function (error) {
        status.textContent = explain(error) || CANCELLED;
        button.disabled = false;
        button.focus();
      });
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("section[data-passkey]"), start);
}());
