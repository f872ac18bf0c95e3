/* motcua counter intake: previews of the pages chosen before they are sent, a QR photo or a retake sent as soon as
   it is taken, and the receipt's print button. Everything works without it (plain forms). */
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  document.querySelectorAll("form[data-autosubmit] input[type=file]").forEach(function (input) {
    input.addEventListener("change", function () { if (input.files && input.files.length) input.form.requestSubmit(); });
  });
  document.querySelectorAll("form[data-preview]").forEach(function (form) {
    var list = form.querySelector(".preview");
    function show() {
      list.replaceChildren();
      form.querySelectorAll("input[type=file]").forEach(function (input) {
        Array.prototype.forEach.call(input.files || [], function (file, i) {
          var li = document.createElement("li");
          if (file.type.indexOf("image/") === 0) {
            var img = document.createElement("img");
            img.src = URL.createObjectURL(file);
            img.alt = file.name;
            img.onload = function () { URL.revokeObjectURL(img.src); };
            li.appendChild(img);
          } else {
            li.textContent = file.name;
          }
          list.appendChild(li);
        });
      });
      list.hidden = !list.children.length;
    }
    form.addEventListener("change", show);
  });
  document.querySelectorAll("button[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
})();
