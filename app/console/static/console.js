// Keyboard triage in the inbox (j/k move, 1-4 triage the selected alert), video chapter links, copy buttons.
(function () {
  "use strict";
  function rows() { return Array.from(document.querySelectorAll("tr.alert-row")); }
  var selected = -1;
  function select(index) {
    var all = rows();
    if (!all.length) { return; }
    selected = Math.max(0, Math.min(index, all.length - 1));
    all.forEach(function (row) { row.classList.remove("selected"); row.removeAttribute("aria-selected"); });
    all[selected].classList.add("selected");
    all[selected].setAttribute("aria-selected", "true");
    all[selected].focus();
  }
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (target && /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)) { return; }
    if (event.key === "j") { select(selected + 1); event.preventDefault(); }
    else if (event.key === "k") { select(selected - 1); event.preventDefault(); }
    else if (/^[1-4]$/.test(event.key) && selected >= 0) {
      var button = rows()[selected].querySelector('button[data-key="' + event.key + '"]');
      if (button) { button.click(); event.preventDefault(); }
    }
  });
  document.addEventListener("htmx:afterSwap", function () { if (selected >= 0) { select(selected); } });
  document.addEventListener("click", function (event) {
    var chapter = event.target.closest("a.chapter");
    if (chapter) {
      var video = document.getElementById(chapter.dataset.video);
      if (video) { video.currentTime = parseFloat(chapter.dataset.seconds); video.play(); event.preventDefault(); }
    }
    var copy = event.target.closest("button[data-copy]");
    if (copy && navigator.clipboard) { navigator.clipboard.writeText(document.getElementById(copy.dataset.copy).value); }
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("video[data-start]").forEach(function (video) {
      video.addEventListener("loadedmetadata", function () {
        var start = parseFloat(video.dataset.start);
        if (start > 0 && video.currentTime < start) { video.currentTime = start; }
      }, { once: true });
    });
    var current = location.pathname.split("/")[1];
    document.querySelectorAll("header nav a").forEach(function (link) {
      if (link.getAttribute("href") === "/" + current) { link.setAttribute("aria-current", "page"); }
    });
  });
})();
