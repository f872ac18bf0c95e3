/* motcua officers' workspace: photo zoom, the selected queue row, approvals signed with a passkey. No build.
   Without this script every link and form still works (a photo opens full size; signing needs it). */
(() => {
const $ = (s, r) => (r || document).querySelector(s);
const T = document.documentElement.lang === "en"
  ? { no: "This browser cannot use passkeys: approvals cannot be signed here.", wait: "Waiting for your passkey…",
      fail: "The passkey could not be used. Please try again.", cancel: "Cancelled." }
  : { no: "Trình duyệt này không dùng được passkey: không ký phê duyệt được ở đây.", wait: "Đang chờ passkey của bạn…",
      fail: "Không dùng được passkey. Vui lòng thử lại.", cancel: "Đã huỷ." };

// photos: tap to open in a dialog, tap the photo to zoom in / out
document.addEventListener("click", (e) => {
  const a = e.target.closest("a[data-zoom]"), dialog = $("#zoom");
  if (a && dialog && dialog.showModal) {
    e.preventDefault();
    const img = $("img", dialog);
    img.src = a.href;
    img.alt = a.dataset.zoom;
    dialog.classList.remove("zoomed");
    dialog.showModal();
    return;
  }
  if (e.target.matches("#zoom img")) { e.target.closest("dialog").classList.toggle("zoomed"); return; }
  const row = e.target.closest(".queue-list a");
  if (row) {
    document.querySelectorAll(".queue-list a[aria-current]").forEach((x) => x.removeAttribute("aria-current"));
    row.setAttribute("aria-current", "true");
  }
});
// a dossier loaded by htmx: move the focus to its heading (screen readers, keyboards)
document.addEventListener("htmx:afterSwap", (e) => {
  const id = e.detail.target && e.detail.target.id;
  if (id === "pane") { const h = $("#d-title"); if (h) h.focus(); }
  if (window.PublicKeyCredential) document.querySelectorAll("[data-passkey-available]").forEach((el) => { el.hidden = false; });
});

// a pane or queue htmx could not load (403, 404, 409…): load the whole page, which says why
document.addEventListener("htmx:responseError", (e) => {
  const path = e.detail.pathInfo && e.detail.pathInfo.requestPath;
  if (path && e.detail.requestConfig && e.detail.requestConfig.verb === "get") location.assign(path);
});

// approve / reject: options bound to this dossier, version, decision, result and reason → passkey → decision
const P = window.PublicKeyCredential, C = navigator.credentials;
const b2u = (b) => btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const u2b = (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
const opt = (o) => P.parseRequestOptionsFromJSON ? P.parseRequestOptionsFromJSON(o)
  : { ...o, challenge: u2b(o.challenge), allowCredentials: (o.allowCredentials || []).map((c) => ({ ...c, id: u2b(c.id) })) };
const json = (c) => {
  try { if (c.toJSON) return c.toJSON(); } catch (e) { /* by hand */ }
  const r = c.response;
  const x = { clientDataJSON: b2u(r.clientDataJSON), authenticatorData: b2u(r.authenticatorData), signature: b2u(r.signature) };
  if (r.userHandle) x.userHandle = b2u(r.userHandle);
  return { id: c.id, rawId: b2u(c.rawId), type: c.type, response: x, clientExtensionResults: {} };
};
const post = async (url, body) => {
  const m = $('meta[name="csrf-token"]');
  const r = await fetch(url, { method: "POST", body: JSON.stringify(body || {}), credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": m ? m.content : "" } });
  const j = await r.json().catch(() => ({}));
  if (!r.ok) throw { s: j.detail || T.fail };
  return j;
};
if (!P || !C) {
  document.querySelectorAll("[data-sign-status]").forEach((el) => { el.textContent = T.no; });
  return;
}
document.querySelectorAll("[data-passkey-available]").forEach((el) => { el.hidden = false; });
document.addEventListener("submit", (e) => {
  const f = e.target.closest("form[data-sign]");
  if (!f) return;
  e.preventDefault();
  const status = $("[data-sign-status]", f), button = $("button[type=submit]", f);
  const say = (m) => { if (status) status.textContent = m; };
  const url = f.action.split("?")[0], query = f.action.includes("?") ? "?" + f.action.split("?")[1] : "";
  button.disabled = true;
  say(T.wait);
  (async () => {
    const reason = f.elements.reason ? f.elements.reason.value : "";  // signed with the decision
    const credential = await C.get({ publicKey: opt(await post(url + "/options", { reason })) });
    const answer = await post(url + query, { version: Number(f.elements.version.value), reason, assertion: json(credential) });
    location.assign(answer.redirect);
  })().catch((err) => {
    button.disabled = false;
    say(err.s || (err.name === "NotAllowedError" ? T.cancel : T.fail));
  });
});
})();
