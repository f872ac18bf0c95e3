/* motcua service worker, served at /sw.js, scope "/". Same-origin GET only.
 * Never stored: /tai-khoan, /ho-so, /can-bo, /auth, /api/* (bar /api/v1/procedures and
 * /api/v1/fields), non-200 answers, Cache-Control: no-store. Strategies:
 *   HX-Request partials: network, else cached partial (own cache), else an offline note.
 *   /static/*: cache first.
 *   /api/v1/procedures|fields, navigations to /, /thu-tuc[/..], /linh-vuc[/..]:
 *     stale-while-revalidate, key = full URL.
 *   other navigations: network, else cached copy, else cached /offline.
 *   other storable GETs: network, else cached copy.
 * The app fills in VERSION (= the ?v= of static URLs); a new one drops old caches. */
const VERSION = "__VERSION__";
const CACHE = "motcua-" + VERSION;
const HX_CACHE = "motcua-hx-" + VERSION;
const SHELL = ["/", "/offline", "/manifest.webmanifest", "/static/icons/icon-192.png"]
  .concat(["/static/app.css", "/static/htmx.min.js", "/static/app.js"].map((u) => u + "?v=" + VERSION));
const PRIVATE = /^\/(tai-khoan|ho-so|can-bo|auth)(\/|$)/;
const API_SWR = /^\/api\/v1\/(procedures|fields)(\/|$)/;
const CATALOGUE = /^\/((thu-tuc|linh-vuc)(\/.*)?)?$/;
const OFFLINE_NOTE = '<p class="offline-note">Bạn đang ngoại tuyến — Offline</p>';

self.addEventListener("install", (e) => {
  e.waitUntil(caches.open(CACHE)
    .then((c) => c.addAll(SHELL.map((u) => new Request(u, { cache: "reload" }))))
    .then(() => self.skipWaiting()));
});

self.addEventListener("activate", (e) => {
  e.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== CACHE && k !== HX_CACHE)
      .map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

self.addEventListener("message", (e) => {
  if (e.data && e.data.type === "SKIP_WAITING") self.skipWaiting();
});

const storable = (p) => !PRIVATE.test(p) && (!p.startsWith("/api/") || API_SWR.test(p));

function store(name, req, res) {
  if (res.status !== 200 || res.type !== "basic" || !storable(new URL(req.url).pathname) ||
      /no-store/i.test(res.headers.get("Cache-Control") || "")) return Promise.resolve();
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
