/* motcua: register the service worker (scope "/") once the page has loaded. */
if ("serviceWorker" in navigator) {
  window.addEventListener("load", () => {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {});
  });
}

/* Catalogue pages work without JavaScript and use htmx only for the live search: they load it when
 * the visitor first touches a form, not with the page (16 KB less on a phone's first load). What was
 * typed before it arrived is searched at once. */
(function () {
  const HX = "[hx-get],[hx-post]";
  if (window.htmx || !document.querySelector(HX)) return;
  const src = document.currentScript.src.replace("/app.js", "/htmx.min.js");
  let asked = false;
  const inject = () => {
    const s = document.createElement("script");
    s.src = src;
    s.onload = () => {
      const el = document.activeElement;
      if (el && el.value && el.matches(HX)) window.htmx.trigger(el, "search");
    };
    document.head.appendChild(s);
  };
  const use = (e) => {
    if (asked || !(e.target instanceof Element) || !e.target.closest("form, " + HX)) return;
    asked = true;  // htmx starts on DOMContentLoaded or later: inject it once the page has loaded
    if (document.readyState === "complete") inject(); else window.addEventListener("load", inject);
  };
  for (const t of ["focusin", "pointerdown", "keydown"]) document.addEventListener(t, use, { passive: true });
})();
