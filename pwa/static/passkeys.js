/* motcua passkeys: add, sign in, step-up (no build) */
(() => {
const P = window.PublicKeyCredential, $ = (s) => document.querySelector(s), C = navigator.credentials;
const T = document.documentElement.lang === "en"
  ? { no: "No passkeys in this browser.", fail: "Passkey failed. Try again.", cancel: "Cancelled.", ok: "Confirmed." }
  : { no: "Trình duyệt này không dùng được passkey.", fail: "Không dùng được passkey. Vui lòng thử lại.", cancel: "Đã huỷ.", ok: "Đã xác thực lại." };
const say = (m) => { const l = $("[data-passkey-status]"); if (l) l.textContent = m; };
const b2u = (b) => btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const u2b = (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
const ids = (l) => (l || []).map((c) => ({ ...c, id: u2b(c.id) }));
const opt = (o, k) => P[k] ? P[k](o) : { ...o, challenge: u2b(o.challenge), user: o.user && { ...o.user, id: u2b(o.user.id) },
  excludeCredentials: ids(o.excludeCredentials), allowCredentials: ids(o.allowCredentials) };
const json = (c) => {
  try { if (c.toJSON) return c.toJSON(); } catch (e) { /**/ }
  const r = c.response, x = { clientDataJSON: b2u(r.clientDataJSON) };
  if (r.attestationObject) {
    x.attestationObject = b2u(r.attestationObject);
    if (r.getTransports) x.transports = r.getTransports();
  } else {
    x.authenticatorData = b2u(r.authenticatorData);
    x.signature = b2u(r.signature);
    if (r.userHandle) x.userHandle = b2u(r.userHandle);
  }
  return { id: c.id, rawId: b2u(c.rawId), type: c.type, response: x };
};
const A = "application/json", post = async (url, body) => {
  const m = $('meta[name="csrf-token"]');
  const r = await fetch(url, { method: "POST", body: JSON.stringify(body || {}),
    headers: { "Content-Type": A, Accept: A, "X-CSRFToken": m ? m.content : "" } });
  const j = await r.json().catch(() => ({}));
  if (!r.ok) throw { s: j.detail || T.fail };
  return j;
};
const get = async (url, extra) => json(await C.get({ publicKey: opt(await post(url), "parseRequestOptionsFromJSON"), ...extra }));
const flows = {
  async register() {
    const n = $("[data-passkey-name]"), q = n && n.value ? "?name=" + encodeURIComponent(n.value) : "";
    const K = "/tai-khoan/passkeys/", e = $("#enrolment-code"), o = await post(K + "options", { enrolment_code: e && e.value });
    const j = await post(K + "verify" + q, json(await C.create({ publicKey: opt(o, "parseCreationOptionsFromJSON") })));
    location.assign(j.redirect || "?ok=passkey");
  },
  async signin(b, extra) {
    const c = await get("/dang-nhap/passkey/options", extra);
    const q = b && b.dataset.next ? "?next=" + encodeURIComponent(b.dataset.next) : "";
    location.assign((await post("/dang-nhap/passkey/verify" + q, c)).redirect || "/tai-khoan");
  },
  async stepup(b) {
    await post("/tai-khoan/xac-thuc-lai/verify", await get("/tai-khoan/xac-thuc-lai/options"));
    say(T.ok);
    if (b.form) b.form.requestSubmit();
  },
};
let pending; // autofill
const run = (f, b, extra) => f(b, extra).catch((e) => {
  if (e.name !== "AbortError") say(e.s || (e.name === "NotAllowedError" ? T.cancel : T.fail));
});
const SEL = "[data-passkey-register],[data-passkey-signin],[data-passkey-stepup]";
if (!P || !C) { if ($(SEL)) say(T.no); return; }
document.querySelectorAll("[data-passkey-available]").forEach((l) => { l.hidden = false; });
document.addEventListener("click", (e) => {
  const b = e.target.closest(SEL);
  if (!b) return;
  e.preventDefault();
  if (pending) pending.abort();
  say("");
  const d = b.dataset;
  run("passkeyRegister" in d ? flows.register : "passkeySignin" in d ? flows.signin : flows.stepup, b);
});
if ($('input[autocomplete~="webauthn"]') && P.isConditionalMediationAvailable) {
  P.isConditionalMediationAvailable().then((ok) => {
    if (!ok) return;
    pending = new AbortController();
    run(flows.signin, $("[data-passkey-signin]"), { mediation: "conditional", signal: pending.signal });
  }).catch(() => {});
}
})();
