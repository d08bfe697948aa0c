// Passkey step of the signer's page: fetch the WebAuthn options, let the browser create or use the
// passkey, post the answer, then reload the page at the next step. Needs a browser with
// PublicKeyCredential.parseCreationOptionsFromJSON (Chromium 129+, Firefox 119+, Safari 18+).
document.querySelectorAll(".passkey").forEach((box) => {
  const button = box.querySelector(".passkey-go");
  const error = box.querySelector("#passkey-error");
  const show = (message) => { error.textContent = message; error.hidden = false; button.disabled = false; };
  const post = async (url, fields) => {
    const body = new URLSearchParams({ _csrf: box.dataset.csrf, ...fields });
    const response = await fetch(url, { method: "POST", body, credentials: "same-origin" });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error || box.dataset.cancelled);
    return data;
  };
  button.addEventListener("click", async () => {
    error.hidden = true;
    if (!window.PublicKeyCredential || !PublicKeyCredential.parseCreationOptionsFromJSON) {
      show(box.dataset.unsupported);
      return;
    }
    button.disabled = true;
    let options;
    try {
      options = await post(box.dataset.options, {});
    } catch (e) { show(e.message); return; }
    let credential;
    try {
      credential = options.mode === "register"
        ? await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options.publicKey) })
        : await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options.publicKey) });
    } catch (e) { show(box.dataset.cancelled); return; }
    try {
      const done = await post(box.dataset.verify, { credential: JSON.stringify(credential.toJSON()) });
      window.location.assign(window.location.pathname + "?m=passkey_ok&t=" + Date.now() + done.next);
    } catch (e) { show(e.message); }
  });
});
