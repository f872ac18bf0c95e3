/* motcua uploads: downscale photos in the browser (long side <= 2000 px, JPEG), upload with a
 * progress bar and retry. Without JavaScript the same <form> posts the original (<= 20 MB). */
(function () {
  "use strict";
  var MAX = 2000, en = document.documentElement.lang === "en";
  var T = en ? { up: "Uploading… ", ok: "Uploaded.", fail: "Upload failed: ", retry: "Retrying…", pick: "Choose a file first." }
             : { up: "Đang tải lên… ", ok: "Đã tải lên.", fail: "Tải lên không được: ", retry: "Đang thử lại…", pick: "Hãy chọn tệp trước." };

  function shrink(file) {
    if (!/^image\/(jpeg|png|webp)$/.test(file.type) || !window.createImageBitmap) return Promise.resolve(file);
    return createImageBitmap(file, { imageOrientation: "from-image" }).then(function (bmp) {
      var scale = Math.min(1, MAX / Math.max(bmp.width, bmp.height));
      if (scale === 1 && file.size < 1500000) return file;
      var c = document.createElement("canvas");
      c.width = Math.round(bmp.width * scale); c.height = Math.round(bmp.height * scale);
      c.getContext("2d").drawImage(bmp, 0, 0, c.width, c.height);
      return new Promise(function (ok) {
        c.toBlob(function (b) { ok(b ? new File([b], file.name.replace(/\.\w+$/, "") + ".jpg", { type: "image/jpeg" }) : file); },
                 "image/jpeg", 0.85);
      });
    }).catch(function () { return file; });
  }

  function send(form, file, bar, status, tries) {
    var data = new FormData();
    data.append("slot", form.querySelector("[name=slot]").value);
    data.append("file", file, file.name);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("X-CSRFToken", form.querySelector("[name=_csrf_token]").value);  // checked before the body
    xhr.upload.onprogress = function (e) {
      if (e.lengthComputable) { bar.value = Math.round(100 * e.loaded / e.total); status.textContent = T.up + bar.value + "%"; }
    };
    xhr.onload = function () {
      if (xhr.status >= 200 && xhr.status < 300) { bar.value = 100; status.textContent = T.ok; location.reload(); return; }
      var detail = "";
      try { detail = JSON.parse(xhr.responseText).detail || ""; } catch (e) { detail = xhr.statusText; }
      if (xhr.status >= 500 && tries < 2) { status.textContent = T.retry; setTimeout(function () { send(form, file, bar, status, tries + 1); }, 1000 * (tries + 1)); return; }
      status.textContent = T.fail + detail;
    };
    xhr.onerror = function () {
      if (tries < 2) { status.textContent = T.retry; setTimeout(function () { send(form, file, bar, status, tries + 1); }, 1000 * (tries + 1)); }
      else status.textContent = T.fail + (en ? "network error" : "lỗi mạng");
    };
    bar.hidden = false; bar.value = 0;
    xhr.send(data);
  }

  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (form.matches("[data-submit-once]")) {
      if (form.dataset.sent) { e.preventDefault(); return; }
      form.dataset.sent = "1";
      return;
    }
    if (!form.matches("[data-upload]") || !window.FormData) return;
    var input = Array.prototype.find.call(form.querySelectorAll("input[type=file]"), function (i) { return i.files && i.files.length; });
    var status = form.querySelector(".upload-status"), bar = form.querySelector("progress");
    e.preventDefault();
    if (!input) { status.textContent = T.pick; return; }
    shrink(input.files[0]).then(function (f) { send(form, f, bar, status, 0); });
  });
  document.addEventListener("change", function (e) {
    var input = e.target;
    if (input.matches && input.matches("[data-upload] input[type=file]") && input.files.length) {
      input.form.requestSubmit ? input.form.requestSubmit() : input.form.submit();
    }
  });
})();
