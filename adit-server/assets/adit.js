// The UI's own behaviour: live job progress and the streamed study search, both over
// server-sent events. No framework: the pages work without it except for these live parts.
"use strict";

(function () {
  function byId(id) { return document.getElementById(id); }

  function setStatus(el, code, label) {
    if (!el) return;
    el.className = el.className.replace(/status-[A-Z]{2}/, "status-" + code);
    el.textContent = label;
    el.dataset.status = code;
  }

  // Job detail: apply each progress snapshot without reloading.
  function followJob(panel) {
    var source = new EventSource(panel.dataset.events);
    source.addEventListener("progress", function (event) {
      var s = JSON.parse(event.data);
      setStatus(byId("job-status"), s.status, s.status_label);
      byId("job-message").textContent = s.message;
      byId("job-counts").textContent = s.counts;
      byId("job-instances").textContent = s.instances_done +
        (s.instances_expected === null ? "" : " / " + s.instances_expected);
      byId("job-bytes").textContent = s.bytes_label;
      byId("job-rate").textContent = s.rate ? "· " + s.rate : "";
      byId("job-eta").textContent = s.eta ? "· " + s.eta + " left" : "";
      var bar = byId("job-progress");
      bar.setAttribute("aria-valuenow", s.percent);
      bar.firstElementChild.style.width = s.percent + "%";
      bar.firstElementChild.textContent = s.percent + "%";
      byId("job-actions").innerHTML = s.actions_html;
      s.tasks.forEach(function (t) {
        var row = byId("task-" + t.id);
        if (!row) return;
        setStatus(row.querySelector("[data-field=status]"), t.status, t.status_label);
        row.querySelector("[data-field=instances]").textContent = t.instances;
        row.querySelector("[data-field=bytes]").textContent = t.bytes;
        row.querySelector("[data-field=message]").textContent = t.message;
      });
      if (s.is_final) {
        panel.dataset.final = "1";
        source.close();
      }
    });
    source.addEventListener("gone", function () { source.close(); });
  }

  // Selective transfer: stream the search results into the table.
  function setUpSearch(form) {
    var current = null;
    var body = byId("results-body");
    var status = byId("search-status");
    var button = byId("search-button");
    function finish(text) {
      if (current) current.close();
      current = null;
      status.textContent = text;
      button.disabled = false;
      form.dataset.state = "done";
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (current) current.close();
      body.innerHTML = "";
      byId("select-all").checked = false;
      byId("transfer-source").value = byId("source").value;
      status.textContent = "Searching…";
      button.disabled = true;
      form.dataset.state = "searching";
      var params = new URLSearchParams(new FormData(form));
      current = new EventSource("/selective-transfer/search?" + params.toString());
      current.addEventListener("row", function (e) {
        body.insertAdjacentHTML("beforeend", e.data);
        var row = body.lastElementChild;
        if (row) row.classList.add("new");
        status.textContent = "Searching… " + body.children.length + " studies so far";
      });
      current.addEventListener("done", function (e) { finish(e.data); });
      current.addEventListener("failed", function (e) {
        finish("");
        byId("transfer-errors").innerHTML =
          '<div class="alert alert-danger" role="alert" id="search-error"></div>';
        byId("search-error").textContent = e.data;
      });
      current.onerror = function () { if (current) finish("The search was interrupted."); };
    });
    byId("select-all").addEventListener("change", function (e) {
      body.querySelectorAll("input[name=studies]").forEach(function (box) {
        box.checked = e.target.checked;
      });
    });
    byId("source").addEventListener("change", function () {
      byId("transfer-source").value = byId("source").value;
    });
    byId("transfer-source").value = byId("source").value;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var panel = byId("job-progress-panel");
    if (panel && !panel.dataset.final) followJob(panel);
    var search = byId("search-form");
    if (search) setUpSearch(search);
  });
})();
