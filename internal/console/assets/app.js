// Tollgate console: charts drawn as SVG from the console's own JSON endpoints, polled (the
// overview every two seconds, a key's usage every second). No library, nothing fetched from
// elsewhere.
"use strict";
(function () {
  var NS = "http://www.w3.org/2000/svg";
  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function fmt(v) { return v >= 100 ? Math.round(v).toString() : (Math.round(v * 10) / 10).toString(); }

  // plot draws series over positions xs (0..1 across the plot): lines, or bars when opts.bars;
  // labels are [position, text] pairs under the x axis; max is the y scale's least top.
  function plot(box, xs, series, classes, opts) {
    opts = opts || {};
    var w = box.clientWidth || 600, h = box.clientHeight || 220, pad = 34, bottom = 20;
    var max = opts.max || 1;
    series.forEach(function (s) { s.forEach(function (v) { if (v > max) max = v; }); });
    box.textContent = "";
    var svg = el("svg", { viewBox: "0 0 " + w + " " + h }, box);
    var y0 = h - bottom, span = w - pad - 4;
    var Y = function (v) { return y0 - v / max * (y0 - 8); };
    el("line", { x1: pad, y1: y0, x2: w, y2: y0, "class": "axis" }, svg);
    el("line", { x1: pad, y1: 4, x2: pad, y2: y0, "class": "axis" }, svg);
    el("text", { x: 2, y: 14 }, svg).textContent = fmt(max);
    el("text", { x: 2, y: y0 }, svg).textContent = "0";
    (opts.labels || []).forEach(function (l) {
      var t = el("text", { x: pad + l[0] * span, y: h - 4, "text-anchor": l[0] <= 0 ? "start" : l[0] >= 1 ? "end" : "middle" }, svg);
      t.textContent = l[1];
    });
    series.forEach(function (s, i) {
      if (opts.bars) {
        var bw = Math.max(2, span / Math.max(s.length, 1) * 0.7);
        s.forEach(function (v, j) {
          var x = pad + xs[j] * span - bw / 2;
          el("rect", { x: Math.max(pad, x).toFixed(1), y: Y(v).toFixed(1), width: bw.toFixed(1), height: Math.max(0, y0 - Y(v)).toFixed(1), "class": "bar" + i }, svg);
        });
        return;
      }
      var pts = s.map(function (v, j) { return (pad + xs[j] * span).toFixed(1) + "," + Y(v).toFixed(1); });
      if (pts.length === 1) {
        var xy = pts[0].split(",");
        el("circle", { cx: xy[0], cy: xy[1], r: 3, "class": "dot " + classes[i] }, svg);
      } else if (pts.length) {
        el("polyline", { points: pts.join(" "), "class": classes[i] }, svg);
      }
    });
    return { svg: svg, Y: Y, w: w, pad: pad };
  }

  // Overview: the last hour at once, then the new points every two seconds.
  var ov = document.getElementById("overview-chart");
  if (ov) {
    var pts = [], since = 0;
    var keys = ["requests", "err4xx", "err5xx", "throttled", "quota"];
    var poll = function () {
      fetch(ov.getAttribute("data-live") + "?since=" + since, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : null; }).then(function (d) {
        if (!d) return;
        (d.points || []).forEach(function (p) { pts.push(p); since = p.t; });
        while (pts.length > 1800) pts.shift();
        var now = Date.now(), hour = 3600e3;
        var xs = pts.map(function (p) { return Math.max(0, Math.min(1, (p.t - (now - hour)) / hour)); });
        plot(ov, xs, keys.map(function (k) { return pts.map(function (p) { return p[k]; }); }), ["s0", "s1", "s2", "s3", "s4"],
          { labels: [[0, "60 min ago"], [0.5, "30 min ago"], [1, "now"]] });
        var last = pts[pts.length - 1];
        if (last) keys.forEach(function (k) { var n = document.getElementById("rate-" + k); if (n) n.textContent = fmt(last[k]); });
        var ul = document.getElementById("throttling");
        if (ul) {
          ul.textContent = "";
          (d.throttling || []).forEach(function (s) { var li = document.createElement("li"); li.textContent = s; ul.appendChild(li); });
          if (!d.throttling || !d.throttling.length) { var li = document.createElement("li"); li.className = "muted"; li.textContent = "None in the last minute."; ul.appendChild(li); }
        }
      }).catch(function () {});
    };
    poll();
    setInterval(poll, 2000);
  }

  // A key's usage per day, with the daily quota drawn; refreshed every second.
  var uc = document.getElementById("usage-chart");
  if (uc) {
    var url = uc.getAttribute("data-usage");
    var refresh = function () {
      fetch(url, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : null; }).then(function (data) {
        if (!data) return;
        var used = [], quota = 0;
        (data || []).forEach(function (s) {
          s.used.forEach(function (v, i) { used[i] = (used[i] || 0) + v; });
          if (s.quota > quota) quota = s.quota;
        });
        var days = (data[0] && data[0].days) || [];
        var n = used.length, xs = used.map(function (_, i) { return n === 1 ? 0.5 : (i + 0.5) / n; });
        var labels = days.length ? [[0, days[0]], [1, days[days.length - 1]]] : [];
        // The quota line is drawn when the bars would still read beside it; far above them it
        // is named instead, so that a day of a few requests is not a flat line.
        var top = Math.max.apply(null, used.concat([1]));
        var drawQuota = quota > 0 && quota <= top * 4;
        var g = plot(uc, xs, [used], ["s0"], { bars: true, max: drawQuota ? quota : top, labels: labels });
        if (drawQuota) {
          var y = g.Y(quota);
          el("line", { x1: g.pad, y1: y, x2: g.w, y2: y, "class": "quota" }, g.svg);
        }
        var qn = document.getElementById("quota-note");
        if (qn) qn.textContent = quota > 0 ? (drawQuota ? "daily quota " + quota : "daily quota " + quota + " (above the chart)") : "no daily quota";
        var t = document.getElementById("used-today");
        if (t) t.textContent = used.length ? used[used.length - 1] : 0;
        uc.setAttribute("data-today", used.length ? used[used.length - 1] : 0);
      }).catch(function () {});
    };
    refresh();
    setInterval(refresh, 1000);
  }
})();

// CSV import: the upload with a progress bar, then the answer's result in place.
(function () {
  var form = document.getElementById("import-form");
  var bar = document.getElementById("import-progress");
  if (!form || !bar || !window.XMLHttpRequest || !window.FormData) return;
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.getAttribute("action"));
    bar.hidden = false;
    xhr.upload.onprogress = function (ev) { if (ev.lengthComputable) bar.value = Math.round(ev.loaded / ev.total * 100); };
    xhr.onload = function () {
      bar.value = 100;
      var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
      var main = doc.getElementById("main");
      if (main) document.getElementById("main").replaceWith(main); else document.body.textContent = xhr.statusText;
    };
    xhr.onerror = function () { bar.hidden = true; alert("The upload failed: check the connection and try again."); };
    xhr.send(new FormData(form));
  });
})();
