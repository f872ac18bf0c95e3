/* motcua service worker, served at /sw.js, scope "/". Same-origin GET only.
 * Stored: public answers only, by an allow-list (PUBLIC, API_SWR): the home page, /offline, the
 * catalogue (/thu-tuc, /linh-vuc), public statistics (/thong-ke), /static/*, the manifest and icon,
 * /api/v1/procedures and /api/v1/fields. Never stored: anything else (/tai-khoan, /ho-so, /can-bo,
 * /auth, /thong-bao, /thanh-toan, /vi-giay-to, /tai-lieu, /to-chuc, …), non-200 answers,
 * Cache-Control: no-store or private. Strategies:
 *   HX-Request partials: network, else cached partial (own cache, public paths only), else an offline note.
 *   /static/*: cache first.
 *   /api/v1/procedures|fields, navigations to /, /thu-tuc[/..], /linh-vuc[/..]:
 *     stale-while-revalidate, key = full URL.
 *   other navigations: network, else cached copy (public pages only), else cached /offline.
 *   other public GETs: network, else cached copy.
 * The app fills in VERSION (= the ?v= of static URLs); a new one drops old caches. */
const VERSION = "__VERSION__";
const CACHE = "motcua-" + VERSION;
const HX_CACHE = "motcua-hx-" + VERSION;
// What an offline visit needs: the home page, the offline page, their style and script (htmx, the
// manifest and the icons are cached when first used: the browser fetches the latter itself).
const SHELL = ["/", "/offline"].concat(["/static/app.css", "/static/app.js"].map((u) => u + "?v=" + VERSION));
const PUBLIC = /^\/((thu-tuc|linh-vuc)(\/.*)?|offline|thong-ke|static\/.+|manifest\.webmanifest|favicon\.ico)?$/;
const API_SWR = /^\/api\/v1\/(procedures|fields)(\/|$)/;
const CATALOGUE = /^\/((thu-tuc|linh-vuc)(\/.*)?)?$/;
const OFFLINE_NOTE = '<p class="offline-note">Bạn đang ngoại tuyến — Offline</p>';
const PUSH_SEEN = "motcua-push-seen";  // message ids already shown (at-least-once delivery: de-duplicate)
const PUSH_SEEN_MAX = 200;

self.addEventListener("install", (e) => {
  e.waitUntil(caches.open(CACHE)
    .then((c) => c.addAll(SHELL))  // versioned URLs: the HTTP cache already holds what the page loaded
    .then(() => self.skipWaiting()));
});

self.addEventListener("activate", (e) => {
  e.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== CACHE && k !== HX_CACHE && k !== PUSH_SEEN)
      .map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener("message", (e) => {
  if (e.data && e.data.type === "SKIP_WAITING") self.skipWaiting();
});

const storable = (p) => PUBLIC.test(p) || API_SWR.test(p);

function store(name, req, res) {
  if (res.status !== 200 || res.type !== "basic" || !storable(new URL(req.url).pathname) ||
      /no-store|private/i.test(res.headers.get("Cache-Control") || "")) return Promise.resolve();
  const copy = res.clone();
  return caches.open(name).then((c) => c.put(req, copy)).catch(() => {});
}

const fromNet = (e, req, name) =>
  fetch(req).then((res) => { e.waitUntil(store(name, req, res)); return res; });

const offlinePage = () => caches.match("/offline", { cacheName: CACHE }).then((r) => r || Response.error());

// Offline, cached "/" also answers "/?source=pwa" etc.
const cachedCopy = (req, path) => caches.match(req, { cacheName: CACHE })
  .then((hit) => hit || (path === "/" ? caches.match("/", { cacheName: CACHE }) : undefined));

function swr(e, req, path, nav) {
  return caches.match(req, { cacheName: CACHE }).then((hit) => {
    const net = fromNet(e, req, CACHE);
    if (hit) { e.waitUntil(net.catch(() => {})); return hit; }
    return nav ? net.catch(() => cachedCopy(req, path).then((c) => c || offlinePage())) : net;
  });
}

// A language switch (?lang=): pages cached so far are in the other language; drop them, keep static.
const dropPages = () => caches.open(CACHE).then((c) => c.keys()
  .then((keys) => Promise.all(keys.filter((k) => !new URL(k.url).pathname.startsWith("/static/"))
    .map((k) => c.delete(k))))
  .then(() => c.add(new Request("/offline", { cache: "reload" })))).catch(() => {});

self.addEventListener("fetch", (e) => {
  const req = e.request;
  const url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin) return;
  const path = url.pathname;
  const nav = req.mode === "navigate";

  if (nav && url.searchParams.has("lang")) {
    e.respondWith(fetch(req).then((res) => { e.waitUntil(dropPages()); return res; })
      .catch(() => cachedCopy(req, path).then((c) => c || offlinePage())));
  } else if (req.headers.has("HX-Request")) {
    e.respondWith(fromNet(e, req, HX_CACHE).catch(() => caches.match(req, { cacheName: HX_CACHE })
      .then((hit) => hit || new Response(OFFLINE_NOTE,
        { headers: { "Content-Type": "text/html; charset=utf-8" } }))));
  } else if (path.startsWith("/static/")) {
    e.respondWith(caches.match(req, { cacheName: CACHE }).then((hit) => hit || fromNet(e, req, CACHE)));
  } else if (API_SWR.test(path) || (nav && CATALOGUE.test(path))) {
    e.respondWith(swr(e, req, path, nav));
  } else if (nav) {
    e.respondWith(fromNet(e, req, CACHE)
      .catch(() => cachedCopy(req, path).then((c) => c || offlinePage())));
  } else if (storable(path)) {
    e.respondWith(fetch(req).catch(() => caches.match(req, { cacheName: CACHE })
      .then((hit) => hit || Response.error())));
  }
});

/* Web Push: the payload is the server's JSON {id, title, body, url, open, tag, lang, badge}. A message
 * id seen before is not shown again (the worker may send twice after a crash); the tag (one per
 * dossier) makes a newer status replace an older one; the app badge shows the unread count. */
const seenKey = (id) => new Request("/__push-seen/" + encodeURIComponent(id));

function alreadySeen(id) {
  if (!id) return Promise.resolve(false);
  return caches.open(PUSH_SEEN).then((c) => c.match(seenKey(id)).then((hit) => {
    if (hit) return true;
    return c.put(seenKey(id), new Response(String(Date.now())))
      .then(() => c.keys())
      .then((keys) => Promise.all(keys.slice(0, Math.max(0, keys.length - PUSH_SEEN_MAX)).map((k) => c.delete(k))))
      .then(() => false);
  })).catch(() => false);
}

function setBadge(count) {
  const nav = self.navigator;
  if (!nav || !("setAppBadge" in nav)) return Promise.resolve();
  return (count > 0 ? nav.setAppBadge(count) : nav.clearAppBadge()).catch(() => {});
}

self.addEventListener("push", (e) => {
  let msg = {};
  try {
    msg = e.data ? e.data.json() : {};
  } catch (err) {
    msg = { body: e.data ? e.data.text() : "" };
  }
  const en = msg.lang === "en";
  const title = msg.title || (en ? "Public services" : "Dịch vụ công");
  const options = {
    body: msg.body || (en ? "You have a new notification." : "Bạn có thông báo mới."),
    lang: en ? "en" : "vi",
    tag: msg.tag || msg.id || "motcua",
    renotify: true,
    icon: "/static/icons/icon-192.png",
    badge: "/static/icons/icon-192.png",
    timestamp: msg.ts || Date.now(),
    data: { id: msg.id || "", url: msg.url || "/thong-bao", open: msg.open || msg.url || "/thong-bao" },
  };
  e.waitUntil(alreadySeen(msg.id).then((seen) => Promise.all([
    seen ? Promise.resolve() : self.registration.showNotification(title, options),
    typeof msg.badge === "number" ? setBadge(msg.badge) : Promise.resolve(),
  ])));
});

self.addEventListener("notificationclick", (e) => {
  e.notification.close();
  const data = e.notification.data || {};
  const target = new URL(data.url || "/thong-bao", self.location.origin);
  const open = new URL(data.open || target.href, self.location.origin);
  if (target.origin !== self.location.origin || open.origin !== self.location.origin) return;
  e.waitUntil(self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((wins) => {
    const same = wins.find((w) => new URL(w.url).pathname === target.pathname);
    if (same && "navigate" in same) {  // the dossier is open already: show it there, fresh
      return same.navigate(open.href).then((w) => (w || same).focus())
        .catch(() => self.clients.openWindow(open.href));
    }
    return self.clients.openWindow(open.href);
  }));
});
