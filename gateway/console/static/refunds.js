// Adds a "select every row" box to the refunds table. Only an enhancement: without JavaScript
// the form's "Chọn tất cả ... trong bộ lọc này" button does the same on the server.
"use strict";
(function () {
  var head = document.getElementById("pick-head");
  var boxes = document.querySelectorAll("#refundable tbody input[name=message_id]");
  if (!head || !boxes.length) { return; }
  var all = document.createElement("input");
  all.type = "checkbox";
  all.id = "pick-all";
  all.setAttribute("aria-label", "Chọn mọi tin trong bảng");
  function sync() {
    var ticked = 0;
    boxes.forEach(function (box) { if (box.checked) { ticked += 1; } });
    all.checked = ticked === boxes.length;
    all.indeterminate = ticked > 0 && ticked < boxes.length;
  }
  all.addEventListener("change", function () {
    boxes.forEach(function (box) { box.checked = all.checked; });
  });
  boxes.forEach(function (box) { box.addEventListener("change", sync); });
  head.textContent = "";
  head.appendChild(all);
  sync();
}());
