// Buttons that ask first: a form with data-confirm="QUESTION" is sent only once the teacher
// says yes, and once (a double click sends one request, not two). Without JavaScript the form
// is sent as it is: the server never depends on this, it checks the form's CSRF token itself.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-confirm")) { return; }
    if (form.getAttribute("data-sent") === "1" || !window.confirm(form.getAttribute("data-confirm"))) {
      event.preventDefault();
      return;
    }
    form.setAttribute("data-sent", "1");
  });
  // Back to this page from the next one (the browser's page cache): its buttons work again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-sent]").forEach(function (form) {
      form.removeAttribute("data-sent");
    });
  });
}());
