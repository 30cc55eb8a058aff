// Sort a table by a column: each heading of a table.sortable becomes a button; pressing it
// sorts the rows by that column (numbers as numbers), again to reverse. No other behaviour.
(function () {
  "use strict";
  function value(row, index) {
    var text = row.cells[index] ? row.cells[index].textContent.trim() : "";
    var number = Number(text.replace(/,/g, ""));
    return text !== "" && !isNaN(number) ? number : text.toLowerCase();
  }
  function sortBy(table, heading, index) {
    var body = table.tBodies[0];
    var ascending = heading.getAttribute("aria-sort") !== "ascending";
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = value(a, index), y = value(b, index);
      if (typeof x !== typeof y) { x = String(x); y = String(y); }
      return (x < y ? -1 : x > y ? 1 : 0) * (ascending ? 1 : -1);
    });
    rows.forEach(function (row) { body.appendChild(row); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell) {
      cell.removeAttribute("aria-sort");
    });
    heading.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    if (!table.tHead || !table.tBodies.length) { return; }
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (heading, index) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = heading.textContent;
      button.addEventListener("click", function () { sortBy(table, heading, index); });
      heading.textContent = "";
      heading.appendChild(button);
    });
  });
}());
