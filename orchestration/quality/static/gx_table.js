/* Offline stand-in for bootstrap-table, which no Python package ships.
   Great Expectations' Data Docs index calls $(table).bootstrapTable({columns, data, ...});
   this draws the same rows as a plain Bootstrap table, sorted as GX asks (sortName /
   sortOrder, through a column's own sortName), each row linking to its validation page.
   Filter controls, search and paging are not drawn; their method calls do nothing. */
(function ($) {
  "use strict";
  $.fn.bootstrapTable = function (options) {
    if (typeof options !== "object") {
      return this; // 'clearFilterControl', 'resetSearch': no filters to clear
    }
    return this.each(function () {
      var table = $(this).addClass("table table-sm table-hover");
      var columns = options.columns || [];
      var rows = (options.data || []).slice();
      var sortColumn = columns.filter(function (c) { return c.field === options.sortName; })[0];
      var sortKey = sortColumn && sortColumn.sortName ? sortColumn.sortName : options.sortName;
      if (sortKey) {
        var sign = options.sortOrder === "desc" ? -1 : 1;
        rows.sort(function (a, b) {
          return a[sortKey] < b[sortKey] ? -sign : a[sortKey] > b[sortKey] ? sign : 0;
        });
      }
      var head = $("<tr>").appendTo($("<thead>").appendTo(table));
      columns.forEach(function (c) {
        $("<th>").text(c.title || "").css("text-align", c.align || "").appendTo(head);
      });
      var body = $("<tbody>").appendTo(table);
      var attributes = window[options.rowAttributes];
      rows.forEach(function (row, i) {
        var tr = $("<tr>").appendTo(body);
        if (typeof attributes === "function") {
          tr.attr(attributes(row, i)).css("cursor", "pointer");
        }
        columns.forEach(function (c) {
          var value = row[c.field] === undefined ? "" : row[c.field];
          $("<td>").html(value).css("text-align", c.align || "").appendTo(tr);
        });
      });
      body.on("click", "tr[data-href]", function () {
        window.location = $(this).attr("data-href");
      });
    });
  };
})(jQuery);
