/* motcua: turn Web Push on or off for this device, only after a tap on the button (the browser's
 * permission prompt is never shown on page load). The explanation is in the page around the button.
 * Subscribes with the server's VAPID key and posts {endpoint, keys, lang} to /thong-bao/thiet-bi. */
(() => {
  const unread = document.querySelector("[data-unread]");
  if (unread && "setAppBadge" in navigator) {
    const n = parseInt(unread.dataset.unread, 10) || 0;
    (n ? navigator.setAppBadge(n) : navigator.clearAppBadge()).catch(() => {});
  }
  const box = document.querySelector("[data-push]");
  if (!box) return;
  const status = box.querySelector("[data-push-status]");
  const on = box.querySelector("[data-push-on]");
  const off = box.querySelector("[data-push-off]");
  const say = (key) => { status.textContent = box.dataset[key] || ""; };
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    say("msgUnsupported");
    return;
  }
  const within = (promise, ms) => Promise.race([promise,
    new Promise((_, reject) => setTimeout(() => reject(new Error("timeout")), ms))]);
  const registration = () => within(navigator.serviceWorker.register("/sw.js", { scope: "/" })
    .then(() => navigator.serviceWorker.ready), 10000);
  const keyBytes = (b64) => {
    const s = atob(b64.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (b64.length % 4)) % 4));
    return Uint8Array.from(s, (c) => c.charCodeAt(0));
  };
  const post = (url, body) => fetch(url, {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf }, body: JSON.stringify(body),
  }).then((r) => { if (!r.ok) throw new Error("HTTP " + r.status); return r; });
  const show = (subscribed) => {
    on.hidden = subscribed;
    off.hidden = !subscribed;
    say(Notification.permission === "denied" ? "msgDenied" : subscribed ? "msgOn" : "msgOff");
  };

  registration().then((reg) => reg.pushManager.getSubscription()).then((sub) => show(!!sub))
    .catch(() => show(false));

  on.addEventListener("click", async () => {
    on.disabled = true;
    try {
      const permission = await Notification.requestPermission();  // after the tap, as browsers require
      if (permission !== "granted") { show(false); say("msgDenied"); return; }
      const reg = await registration();
      const res = await fetch("/api/v1/push/vapid-public-key", { credentials: "same-origin" });
      if (!res.ok) throw new Error("no key");
      const { public_key: key } = await res.json();
      let sub = await reg.pushManager.getSubscription();
      if (sub) {  // made with another server key: start again
        const current = new Uint8Array(sub.options.applicationServerKey || []);
        const wanted = keyBytes(key);
        if (current.length !== wanted.length || current.some((b, i) => b !== wanted[i])) {
          await sub.unsubscribe();
          sub = null;
        }
      }
      sub = sub || await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key) });
      await post("/thong-bao/thiet-bi", Object.assign(sub.toJSON(), { lang: document.documentElement.lang }));
      show(true);
    } catch (e) {
      show(false);
      say("msgError");
    } finally {
      on.disabled = false;
    }
  });

  off.addEventListener("click", async () => {
    off.disabled = true;
    try {
      const reg = await registration();
      const sub = await reg.pushManager.getSubscription();
      if (sub) {
        await post("/thong-bao/thiet-bi/huy", { endpoint: sub.endpoint }).catch(() => {});
        await sub.unsubscribe();
      }
      show(false);
    } catch (e) {
      say("msgError");
    } finally {
      off.disabled = false;
    }
  });

})();
