/* joulecast report: draws the page from the JSON in #joulecast-data (schema joulecast.report/1) with the
 * embedded Apache ECharts. Text from the data only ever goes into the page through textContent or escaped
 * tooltip HTML, never as markup. Embedded into the joulecast binary at build time (cmake/embed_asset.cmake). */
(function () {
  'use strict';

  var data = JSON.parse(document.getElementById('joulecast-data').textContent);
  var main = document.getElementById('report');
  var charts = [];

  var DOMAIN_COLOURS = { gpu: '#2e7d32', cpu: '#1565c0', dram: '#ef6c00', psys: '#6a1b9a' };
  var PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2',
    '#7f7f7f', '#bcbd22'];
  var PHASE_COLOURS = ['rgba(255, 193, 7, 0.20)', 'rgba(33, 150, 243, 0.15)', 'rgba(156, 39, 176, 0.14)',
    'rgba(76, 175, 80, 0.16)', 'rgba(244, 67, 54, 0.13)', 'rgba(0, 150, 136, 0.15)'];
  // A y axis' name starts at the axis and runs right, so that a long one is not cut at the chart's edge.
  var Y_NAME = { align: 'left', padding: [0, 0, 0, -8] };
  var TEXT_STYLE = { fontFamily: 'system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif' };

  // ---- Small helpers ------------------------------------------------------------------------------------

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function esc(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }

  function isNum(v) { return typeof v === 'number' && isFinite(v); }

  /** 3 significant digits with an SI prefix: 0.0123 J -> "12.3 mJ". */
  function si(value, unit, digits) {
    if (!isNum(value)) return '–';
    digits = digits || 3;
    var prefixes = [[1e9, 'G'], [1e6, 'M'], [1e3, 'k'], [1, ''], [1e-3, 'm'], [1e-6, 'µ'], [1e-9, 'n']];
    var a = Math.abs(value);
    if (a === 0) return '0 ' + unit;
    for (var i = 0; i < prefixes.length; i++) {
      if (a >= prefixes[i][0] * 0.9995 || i === prefixes.length - 1) {
        return trimNumber((value / prefixes[i][0]).toPrecision(digits)) + ' ' + prefixes[i][1] + unit;
      }
    }
    return String(value);
  }

  function trimNumber(text) {
    if (text.indexOf('e') >= 0) return String(Number(text));
    return text.indexOf('.') >= 0 ? text.replace(/0+$/, '').replace(/\.$/, '') : text;
  }

  function num(value, digits) {
    if (!isNum(value)) return '–';
    if (Math.abs(value) >= 1e6 || (Math.abs(value) < 1e-3 && value !== 0)) return value.toExponential(2);
    return trimNumber(value.toPrecision(digits || 3));
  }

  /** A whole count with thousands separators: 1000000 -> "1,000,000". */
  function count(value) { return isNum(value) ? Math.round(value).toLocaleString('en-US') : '–'; }

  function seconds(value) {
    if (!isNum(value)) return '–';
    if (value >= 3600) return (value / 3600).toFixed(2) + ' h';
    if (value >= 60) return (value / 60).toFixed(1) + ' min';
    return num(value, 3) + ' s';
  }

  function signedPercent(share) {
    return isNum(share) ? (share >= 0 ? '+' : '') + (share * 100).toFixed(1) + '%' : '–';
  }

  function percent(share) { return isNum(share) ? (share * 100).toFixed(share < 0.01 ? 1 : 0) + '%' : '–'; }

  function shortId(id) { return String(id || '').slice(0, 8); }

  /** Log axis only where values are all positive and span a wide range. */
  function useLog(values, ratio) {
    var v = values.filter(isNum);
    if (v.length < 2) return false;
    var min = Math.min.apply(null, v), max = Math.max.apply(null, v);
    return min > 0 && max / min >= ratio;
  }

  function axisJoules(value) { return si(value, 'J', 3); }

  /** Room around the outermost points of a log axis, so that none sits on the axis line. */
  function logAxis(axis) {
    axis.type = 'log';
    axis.min = function (v) { return v.min / 1.35; };
    axis.max = function (v) { return v.max * 1.35; };
    axis.axisLabel = Object.assign({ showMinLabel: false, showMaxLabel: false }, axis.axisLabel || {});
    return axis;
  }

  /** The smallest round number (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 × 10^k) at or above x. */
  function niceCeil(x) {
    if (!(x > 0)) return 1;
    var p = Math.pow(10, Math.floor(Math.log10(x)));
    var steps = [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * p >= x * (1 - 1e-12)) return steps[i] * p;
    return 10 * p;
  }

  /** The label of a correlation variable; the unit only where the label does not already say it. */
  function variableLabel(v) {
    var label = v.label || String(v.name).replace(/_/g, ' ');
    var unit = v.unit === 'J/sample' ? 'J' : v.unit;
    return ['J', 'W', 's', '%', 'MHz'].indexOf(unit) >= 0 ? label + ' (' + unit + ')' : label;
  }

  // One colour per model in every chart, in the models' alphabetical order.
  var MODELS = (function () {
    var seen = {};
    (data.runs || []).forEach(function (r) { if (r.model) seen[r.model] = true; });
    var sections = data.sections || {};
    ((sections.batch || {}).series || []).forEach(function (m) { seen[m.model] = true; });
    ((sections.pareto || {}).points || []).forEach(function (p) { seen[p.model] = true; });
    ((sections.forecast || {}).runs || []).forEach(function (r) { seen[r.model || 'runs'] = true; });
    return Object.keys(seen).sort();
  })();

  function modelColour(model) {
    var i = MODELS.indexOf(model);
    return PALETTE[(i < 0 ? MODELS.length : i) % PALETTE.length];
  }

  // ---- Page structure -----------------------------------------------------------------------------------

  function sectionCard(number, key, s) {
    var card = el('section', 'card');
    card.id = 'section-' + key;
    card.setAttribute('data-section', key);
    card.setAttribute('data-status', s ? s.status : 'no data');
    card.appendChild(el('h2', null, number + '. ' + (s && s.title ? s.title : key)));
    main.appendChild(card);
    return card;
  }

  function chartBox(card, key, height) {
    var box = el('div', 'chart');
    box.setAttribute('data-chart', key);
    box.style.height = (height || 380) + 'px';
    card.appendChild(box);
    return box;
  }

  function noData(card, reason) {
    var box = el('div', 'no-data');
    box.setAttribute('data-no-data', '1');
    box.appendChild(el('strong', null, 'No data'));
    box.appendChild(document.createTextNode(reason ? ': ' + reason : ''));
    card.appendChild(box);
  }

  // A section without data: says so and why, with its source line and notes. True when it drew that.
  function drewNoData(card, s) {
    if (s && s.status === 'ok') return false;
    noData(card, s && s.reason);
    sourceLine(card, s);
    notes(card, s && s.notes);
    return true;
  }

  function sourceLine(card, s) {
    if (!s || !s.source) return;
    var p = el('p', 'source');
    p.appendChild(el('span', 'source-label', 'Where the numbers come from: '));
    p.appendChild(document.createTextNode(s.source));
    card.appendChild(p);
  }

  function notes(card, list) {
    if (!list || !list.length) return;
    var ul = el('ul', 'notes');
    list.forEach(function (n) { ul.appendChild(el('li', null, n)); });
    card.appendChild(ul);
  }

  function table(card, headers, rows, className) {
    var wrap = el('div', 'table-wrap');
    var t = el('table', className || 'data');
    var thead = el('thead');
    var tr = el('tr');
    headers.forEach(function (h) {
      var th = el('th', null, h.label !== undefined ? h.label : h);
      if (h.numeric) th.className = 'num';
      tr.appendChild(th);
    });
    thead.appendChild(tr);
    t.appendChild(thead);
    var tbody = el('tbody');
    rows.forEach(function (r) {
      var row = el('tr');
      r.forEach(function (cell, i) {
        var td = el('td', headers[i] && headers[i].numeric ? 'num' : null, cell);
        row.appendChild(td);
      });
      tbody.appendChild(row);
    });
    t.appendChild(tbody);
    wrap.appendChild(t);
    card.appendChild(wrap);
    return t;
  }

  /** Draws one chart; a failure shows in the page (and in the console) instead of blanking the report. */
  function draw(card, key, height, makeOption, after) {
    var box = chartBox(card, key, height);
    try {
      var chart = echarts.init(box, null, { renderer: 'canvas' });
      chart.setOption(makeOption());
      charts.push(chart);
      box.setAttribute('data-drawn', '1');
      if (after) after(chart);
      return chart;
    } catch (error) {
      console.error('joulecast report: the ' + key + ' chart could not be drawn:', error);
      box.textContent = 'This chart could not be drawn: ' + error;
      box.className = 'chart failed';
      return null;
    }
  }

  function baseOption() {
    return { animation: false, textStyle: TEXT_STYLE, backgroundColor: '#ffffff' };
  }

  // ---- 1. Power over time -------------------------------------------------------------------------------

  function phaseColour(name, names) {
    var i = names.indexOf(name);
    return PHASE_COLOURS[(i < 0 ? 0 : i) % PHASE_COLOURS.length];
  }

  function timelineSection(s) {
    var card = sectionCard(1, 'timeline', s);
    if (s && s.run) {
      var r = s.run;
      card.appendChild(el('p', 'subtitle', 'Run ' + shortId(r.id) + (r.name ? ' “' + r.name + '”' : '') +
        ' (' + r.chosen_by + ')' + (r.started_at ? ', started ' + r.started_at : '') +
        (isNum(r.duration_s) ? ', ' + seconds(r.duration_s) : '') + (r.status ? ', ' + r.status : '') +
        '. Phases shaded, epoch ends dashed; Ctrl + wheel zooms, drag pans.'));
    }
    if (drewNoData(card, s)) return;
    var names = [];
    s.phases.forEach(function (p) { if (names.indexOf(p.name) < 0) names.push(p.name); });
    draw(card, 'timeline', 400, function () {
      var series = s.series.map(function (d, i) {
        var label = d.domain + ' (' + d.method + ')';
        var item = {
          type: 'line', name: label, data: d.points, showSymbol: false, connectNulls: false,
          lineStyle: { width: 1.6 }, color: DOMAIN_COLOURS[d.domain] || PALETTE[i % PALETTE.length],
          sampling: 'lttb', z: 3
        };
        if (i === 0 && s.phases.length) {
          item.markArea = {
            silent: false,
            label: { position: 'insideTop', color: '#37474f', fontSize: 11 },
            data: s.phases.map(function (p) {
              return [{ name: p.name, xAxis: p.start_s, itemStyle: { color: phaseColour(p.name, names) } },
                { xAxis: p.end_s }];
            })
          };
        }
        if (i === 0 && s.epochs.length) {
          item.markLine = {
            silent: true, symbol: 'none',
            lineStyle: { type: 'dashed', color: '#90a4ae', width: 1 },
            label: { show: s.epochs.length <= 24, formatter: function (p) { return p.name; }, fontSize: 10,
              color: '#78909c' },
            data: s.epochs.map(function (e) { return { name: 'e' + (isNum(e.n) ? e.n : ''), xAxis: e.end_s }; })
          };
        }
        return item;
      });
      var duration = s.run && isNum(s.run.duration_s) ? s.run.duration_s : undefined;
      return Object.assign(baseOption(), {
        grid: { left: 70, right: 28, top: 56, bottom: 56 },
        legend: { top: 8, textStyle: TEXT_STYLE },
        tooltip: {
          trigger: 'axis',
          valueFormatter: function (v) { return isNum(v) ? si(v, 'W') : '–'; }
        },
        xAxis: {
          type: 'value', name: 'time since the command started (s)', nameLocation: 'middle', nameGap: 32,
          min: 0, max: duration, axisLabel: { formatter: function (v) { return num(v, 3); } }
        },
        yAxis: { type: 'value', name: 'power (W)', nameGap: 14, min: 0, nameTextStyle: Y_NAME,
          axisLabel: { formatter: function (v) { return num(v, 4); } } },
        // Ctrl + wheel zooms; the wheel alone keeps scrolling the page.
        dataZoom: [{ type: 'inside', filterMode: 'none', zoomOnMouseWheel: 'ctrl', moveOnMouseWheel: false }],
        series: series
      });
    });
    sourceLine(card, s);
    if (s.phases.length) {
      table(card, ['phase', { label: 'start', numeric: true }, { label: 'end', numeric: true },
        { label: 'energy', numeric: true }, { label: 'samples', numeric: true },
        { label: 'energy / sample', numeric: true }, { label: 'mean power', numeric: true }, 'boundary'],
      s.phases.map(function (p) {
        return [p.name, seconds(p.start_s), seconds(p.end_s), si(p.energy_j, 'J'),
          count(p.samples), si(p.energy_per_sample_j, 'J'), si(p.mean_power_w, 'W'),
          p.boundary || '–'];
      }), 'data compact');
    }
    if (s.attributed && s.attributed.length) {
      // Gross is the whole device; attributed is the job's own share of it, where it could be measured.
      card.appendChild(el('h3', null, 'The job\u2019s own share (attributed energy)'));
      var shareTable = table(card, ['domain or GPU', { label: 'gross', numeric: true },
        { label: 'attributed', numeric: true }, { label: 'share', numeric: true }, 'how measured, or why not'],
      s.attributed.map(function (a) {
        return [a.part, si(a.gross_j, 'J') + (a.gross_method ? ' (' + a.gross_method + ')' : ''), isNum(a.attributed_j) ? si(a.attributed_j, 'J') : 'not measured',
          isNum(a.share) ? percent(a.share) : '–', a.how || '–'];
      }), 'data compact');
      shareTable.setAttribute('data-attributed', String(s.attributed.length));
    }
    notes(card, s.notes);
  }

  // ---- 2. Energy per sample against batch size --------------------------------------------------------

  function batchSection(s) {
    var card = sectionCard(2, 'batch', s);
    if (drewNoData(card, s)) return;
    var batches = [], energies = [];
    s.series.forEach(function (m) {
      m.means.concat(m.runs).forEach(function (p) {
        batches.push(p.batch_size);
        energies.push(p.energy_per_sample_j);
      });
    });
    var logX = useLog(batches, 4), logY = useLog(energies, 10);
    draw(card, 'batch', 400, function () {
      var series = [];
      s.series.forEach(function (m, i) {
        var colour = s.series.length > MODELS.length ? PALETTE[i % PALETTE.length] : modelColour(m.model);
        series.push({
          type: 'line', name: m.label, color: colour, symbol: 'circle', symbolSize: 9, z: 3,
          lineStyle: { width: 2 },
          data: m.means.map(function (p) {
            return { value: [p.batch_size, p.energy_per_sample_j], info: p, kind: 'mean' };
          })
        });
        series.push({
          type: 'scatter', name: m.label, color: colour, symbolSize: 6, z: 2,
          itemStyle: { opacity: 0.45 },
          data: m.runs.map(function (p) {
            return { value: [p.batch_size, p.energy_per_sample_j], info: p, kind: 'run' };
          })
        });
      });
      return Object.assign(baseOption(), {
        grid: { left: 80, right: 28, top: 56, bottom: 56 },
        legend: { top: 8, textStyle: TEXT_STYLE },
        tooltip: {
          trigger: 'item',
          formatter: function (p) {
            var d = p.data.info;
            var lines = ['<b>' + esc(p.seriesName) + '</b>', 'batch ' + esc(num(d.batch_size, 6)),
              esc(si(d.energy_per_sample_j, 'J')) + ' per sample'];
            if (p.data.kind === 'mean') {
              lines.push('mean of ' + d.n + (d.n === 1 ? ' run' : ' runs') +
                (isNum(d.sd_j) ? ' (sd ' + esc(si(d.sd_j, 'J')) + ')' : ''));
              if (isNum(d.accuracy)) lines.push('accuracy ' + esc(num(d.accuracy, 3)));
              lines.push('energy: ' + esc(d.method));
            } else {
              lines.push('run ' + esc(shortId(d.id)) + (d.name ? ' ' + esc(d.name) : ''));
            }
            return lines.join('<br>');
          }
        },
        xAxis: logX ? logAxis({ logBase: 2, name: 'batch size (log scale)', nameLocation: 'middle', nameGap: 32,
          axisLabel: { formatter: function (v) { return num(v, 6); } } })
          : { type: 'value', name: 'batch size', nameLocation: 'middle', nameGap: 32, scale: true },
        yAxis: logY ? logAxis({ name: 'energy per sample (log scale)', nameTextStyle: Y_NAME,
          axisLabel: { formatter: axisJoules } })
          : { type: 'value', name: 'energy per sample', min: 0, nameTextStyle: Y_NAME,
            axisLabel: { formatter: axisJoules } },
        series: series
      });
    });
    sourceLine(card, s);
    var rows = [];
    s.series.forEach(function (m) {
      m.means.forEach(function (p) {
        rows.push([m.label, num(p.batch_size, 6), si(p.energy_per_sample_j, 'J'), isNum(p.sd_j) ? si(p.sd_j, 'J') : '–',
          String(p.n), p.method]);
      });
    });
    table(card, ['model', { label: 'batch', numeric: true }, { label: 'energy / sample', numeric: true },
      { label: 'sd', numeric: true }, { label: 'runs', numeric: true }, 'energy'], rows, 'data compact');
    notes(card, s.notes);
  }

  // ---- 3. Accuracy against energy per sample, Pareto front --------------------------------------------

  function paretoSection(s) {
    var card = sectionCard(3, 'pareto', s);
    if (drewNoData(card, s)) return;
    var models = [];
    s.points.forEach(function (p) { if (models.indexOf(p.model) < 0) models.push(p.model); });
    models.sort();
    var logX = useLog(s.points.map(function (p) { return p.energy_per_sample_j; }), 10);
    draw(card, 'pareto', 400, function () {
      var series = models.map(function (model, i) {
        return {
          type: 'scatter', name: model, color: modelColour(model), z: 3,
          symbolSize: function (value, p) { return p.data.info.on_front ? 12 : 8; },
          data: s.points.filter(function (p) { return p.model === model; }).map(function (p) {
            // At chance accuracy: a cross, never on the front.
            return p.at_chance ? { value: [p.energy_per_sample_j, p.accuracy], info: p, symbol: 'path://M0,0L10,10M10,0L0,10',
              itemStyle: { borderColor: modelColour(model), borderWidth: 2 } }
              : { value: [p.energy_per_sample_j, p.accuracy], info: p };
          })
        };
      });
      var front = s.points.filter(function (p) { return p.on_front; })
        .sort(function (a, b) { return a.energy_per_sample_j - b.energy_per_sample_j; });
      series.push({
        type: 'line', name: 'Pareto front', color: '#263238', z: 2, step: false,
        symbol: 'emptyCircle', symbolSize: 16, lineStyle: { width: 1.5, type: 'dashed' },
        data: front.map(function (p) { return { value: [p.energy_per_sample_j, p.accuracy], info: p }; })
      });
      return Object.assign(baseOption(), {
        grid: { left: 80, right: 28, top: 56, bottom: 56 },
        legend: { top: 8, textStyle: TEXT_STYLE },
        tooltip: {
          trigger: 'item',
          formatter: function (p) {
            var d = p.data.info;
            return ['<b>' + esc(d.label) + '</b>', 'accuracy ' + esc(num(d.accuracy, 4)),
              esc(si(d.energy_per_sample_j, 'J')) + ' per sample',
              d.n + (d.n === 1 ? ' run' : ' runs') + ', energy ' + esc(d.method),
              d.at_chance ? 'at chance accuracy: not a candidate, never recommended'
                : d.on_front ? 'on the Pareto front' : 'dominated'].join('<br>');
          }
        },
        xAxis: logX ? logAxis({ name: 'energy per sample (log scale)', nameLocation: 'middle', nameGap: 32,
          axisLabel: { formatter: axisJoules } })
          : { type: 'value', name: 'energy per sample', nameLocation: 'middle', nameGap: 32, scale: true,
            axisLabel: { formatter: axisJoules } },
        yAxis: { type: 'value', name: 'accuracy', scale: true, nameTextStyle: Y_NAME,
          axisLabel: { formatter: function (v) { return num(v, 3); } } },
        series: series
      });
    });
    sourceLine(card, s);
    var front = s.points.filter(function (p) { return p.on_front; });
    table(card, ['on the front: ' + (s.grouping === 'run' ? 'run' : 'configuration'),
      { label: 'accuracy', numeric: true }, { label: 'energy / sample', numeric: true },
      { label: 'runs', numeric: true }, 'energy'],
    front.map(function (p) {
      return [p.label, num(p.accuracy, 4), si(p.energy_per_sample_j, 'J'), String(p.n), p.method];
    }), 'data compact');
    var chance = s.points.filter(function (p) { return p.at_chance; });
    if (chance.length) {
      table(card, ['at chance accuracy (flagged, never recommended)', { label: 'accuracy', numeric: true },
        { label: 'energy / sample', numeric: true }, { label: 'runs', numeric: true }],
      chance.map(function (p) {
        return [p.label, num(p.accuracy, 4), si(p.energy_per_sample_j, 'J'), String(p.n)];
      }), 'data compact');
    }
    notes(card, s.notes);
  }

  // ---- 4. Correlation heatmap ----------------------------------------------------------------------------

  function correlationSection(s) {
    var card = sectionCard(4, 'correlations', s);
    if (!s || s.status !== 'ok') {
      noData(card, s && s.reason);
      sourceLine(card, s);
      if (data.runs_analysed > 0) notes(card, omittedNotes(s && s.omitted));
      return;
    }
    var labels = s.variables.map(variableLabel);
    var kind = 'spearman';
    var controls = el('div', 'controls');
    var buttons = {};
    ['spearman', 'pearson'].forEach(function (k) {
      var b = el('button', k === kind ? 'toggle active' : 'toggle', k === 'spearman' ? 'Spearman (rank)' : 'Pearson');
      b.type = 'button';
      buttons[k] = b;
      controls.appendChild(b);
    });
    card.appendChild(controls);
    var n = s.variables.length;
    function cells(k) {
      var out = [];
      for (var i = 0; i < n; i++) {
        for (var j = 0; j < n; j++) {
          var v = s[k][i][j];
          out.push({ value: [j, i, isNum(v) ? v : '-'], n: s.n[i][j] });
        }
      }
      return out;
    }
    var height = Math.max(380, 150 + n * 30);
    var chart = draw(card, 'correlations', height, function () {
      return Object.assign(baseOption(), {
        grid: { left: 12, right: 24, top: 16, bottom: 64, containLabel: true },
        tooltip: {
          formatter: function (p) {
            var v = p.data.value;
            return esc(labels[v[1]]) + '<br>' + esc(labels[v[0]]) + '<br>' +
              (kind === 'spearman' ? 'Spearman ρ ' : 'Pearson r ') +
              (isNum(v[2]) ? esc(v[2].toFixed(2)) : 'undefined') + ' (n = ' + p.data.n + ')';
          }
        },
        xAxis: { type: 'category', data: labels, axisLabel: { rotate: 40, interval: 0, fontSize: 11 },
          splitArea: { show: true } },
        yAxis: { type: 'category', data: labels, inverse: true, axisLabel: { interval: 0, fontSize: 11 },
          splitArea: { show: true } },
        visualMap: {
          min: -1, max: 1, calculable: false, orient: 'horizontal', left: 'center', bottom: 4, itemHeight: 180,
          text: ['+1', '−1'], inRange: { color: ['#2166ac', '#92c5de', '#f7f7f7', '#f4a582', '#b2182b'] },
          textStyle: TEXT_STYLE
        },
        series: [{
          type: 'heatmap', name: 'correlation', data: cells(kind),
          label: { show: n <= 24, fontSize: n > 14 ? 9 : 10, formatter: function (p) {
            return isNum(p.data.value[2]) ? p.data.value[2].toFixed(2) : '';
          } },
          itemStyle: { borderColor: '#ffffff', borderWidth: 1 },
          emphasis: { itemStyle: { borderColor: '#263238', borderWidth: 1 } }
        }]
      });
    });
    Object.keys(buttons).forEach(function (k) {
      buttons[k].addEventListener('click', function () {
        kind = k;
        Object.keys(buttons).forEach(function (o) { buttons[o].className = o === k ? 'toggle active' : 'toggle'; });
        if (chart) chart.setOption({ series: [{ data: cells(k) }] });
      });
    });
    sourceLine(card, s);
    var extra = omittedNotes(s.omitted);
    (s.drivers || []).forEach(function (d) {
      var top = d.drivers.slice(0, 3).map(function (x) {
        return x.variable + ' (ρ ' + x.spearman.toFixed(2) + ', n ' + x.n + ', ' + x.strength + ')';
      });
      if (top.length) extra.unshift('Strongest drivers of ' + d.outcome + ': ' + top.join('; '));
    });
    notes(card, extra.concat(s.notes || []));
  }

  /** Variables left out of the matrix, one line per reason: "left out (no values): loss, threads". */
  function omittedNotes(omitted) {
    var byReason = {}, order = [];
    (omitted || []).forEach(function (o) {
      if (!byReason[o.reason]) { byReason[o.reason] = []; order.push(o.reason); }
      byReason[o.reason].push(variableLabel(o));
    });
    return order.map(function (reason) { return 'Left out (' + reason + '): ' + byReason[reason].join(', '); });
  }

  // ---- 5. Forecast against actual ----------------------------------------------------------------------

  function forecastSection(s) {
    var card = sectionCard(5, 'forecast', s);
    if (drewNoData(card, s)) return;
    var points = [], values = [];
    s.runs.forEach(function (r) {
      points.push(r.actual_j, r.forecast_j, r.naive_j);
      values.push(r.actual_j, r.forecast_j, r.low_j, r.high_j, r.naive_j);
    });
    var log = useLog(points, 10);
    var finite = values.filter(function (v) { return isNum(v) && (!log || v > 0); });
    var lo = Math.min.apply(null, finite), hi = Math.max.apply(null, finite);
    // One range on both axes, so that the diagonal is forecast = actual.
    var bounds = log ? [lo / 1.35, hi * 1.35] : [0, niceCeil(hi * 1.05)];
    var models = [];
    s.runs.forEach(function (r) { var m = r.model || 'runs'; if (models.indexOf(m) < 0) models.push(m); });
    models.sort();
    draw(card, 'forecast', 400, function () {
      var series = [{
        type: 'line', name: 'forecast = actual', color: '#9e9e9e', symbol: 'none', silent: true,
        lineStyle: { type: 'dashed', width: 1 }, data: [[bounds[0], bounds[0]], [bounds[1], bounds[1]]], z: 1
      }, {
        type: 'custom', name: Math.round((s.runs[0].confidence || 0.9) * 100) + '% interval', color: '#546e7a', z: 2,
        renderItem: function (params, api) {
          var a = api.coord([api.value(0), api.value(1)]), b = api.coord([api.value(0), api.value(2)]);
          var cap = 4;
          var style = { stroke: '#546e7a', lineWidth: 1.2 };
          return { type: 'group', children: [
            { type: 'line', shape: { x1: a[0], y1: a[1], x2: b[0], y2: b[1] }, style: style },
            { type: 'line', shape: { x1: a[0] - cap, y1: a[1], x2: a[0] + cap, y2: a[1] }, style: style },
            { type: 'line', shape: { x1: b[0] - cap, y1: b[1], x2: b[0] + cap, y2: b[1] }, style: style }] };
        },
        data: s.runs.map(function (r) { return [r.actual_j, r.low_j, r.high_j]; })
      }];
      series.push({
        type: 'scatter', name: 'naive baseline (mean so far)', color: '#9e9e9e', symbol: 'diamond', symbolSize: 8,
        z: 2, itemStyle: { opacity: 0.8 },
        data: s.runs.filter(function (r) { return isNum(r.naive_j); }).map(function (r) {
          return { value: [r.actual_j, r.naive_j], info: r, naive: true };
        })
      });
      models.forEach(function (m) {
        series.push({
          type: 'scatter', name: m, color: modelColour(m), symbolSize: 9, z: 3,
          data: s.runs.filter(function (r) { return (r.model || 'runs') === m; }).map(function (r) {
            return { value: [r.actual_j, r.forecast_j], info: r };
          })
        });
      });
      var axis = function (name) {
        return { type: log ? 'log' : 'value', name: name, nameLocation: 'middle', nameGap: 34,
          min: bounds[0], max: bounds[1],
          axisLabel: { formatter: axisJoules, showMinLabel: !log, showMaxLabel: !log } };
      };
      return Object.assign(baseOption(), {
        grid: { left: 84, right: 28, top: 56, bottom: 60 },
        legend: { top: 8, textStyle: TEXT_STYLE },
        tooltip: {
          trigger: 'item',
          formatter: function (p) {
            if (!p.data || !p.data.info) return '';
            var r = p.data.info;
            return ['<b>' + esc(r.name || shortId(r.id)) + '</b> (' + esc(shortId(r.id)) + ')',
              'measured ' + esc(si(r.actual_j, 'J')) + ' over ' + r.epochs + ' epochs',
              'forecast ' + esc(si(r.forecast_j, 'J')) + ' [' + esc(si(r.low_j, 'J')) + ' – ' +
                esc(si(r.high_j, 'J')) + '], error ' + esc(signedPercent(r.relative_error)),
              'naive ' + esc(si(r.naive_j, 'J')) + ', error ' + esc(signedPercent(r.naive_relative_error)),
              r.converged ? 'converged' : 'not converged'].join('<br>');
          }
        },
        xAxis: axis('measured total over all epochs'),
        yAxis: Object.assign(axis('forecast after ' + s.after_epochs + ' epochs'), { nameGap: 58 }),
        series: series
      });
    });
    sourceLine(card, s);
    table(card, ['run', { label: 'epochs', numeric: true }, { label: 'measured', numeric: true },
      { label: 'forecast', numeric: true }, { label: 'interval', numeric: true }, { label: 'error', numeric: true },
      { label: 'naive', numeric: true }, { label: 'naive error', numeric: true }, 'in interval'],
    s.runs.map(function (r) {
      return [shortId(r.id) + (r.name ? ' ' + r.name : ''), String(r.epochs), si(r.actual_j, 'J'), si(r.forecast_j, 'J'),
        si(r.low_j, 'J') + ' – ' + si(r.high_j, 'J'), signedPercent(r.relative_error), si(r.naive_j, 'J'),
        signedPercent(r.naive_relative_error), r.covered ? 'yes' : 'no'];
    }), 'data compact');
    notes(card, s.notes);
  }

  // ---- Text sections -------------------------------------------------------------------------------------

  function guidelinesSection() {
    var card = el('section', 'card');
    card.id = 'section-guidelines';
    card.appendChild(el('h2', null, 'Guidelines from these runs'));
    main.appendChild(card);
    if (!data.guidelines.length) {
      noData(card, 'no guideline could be given from these runs');
    } else {
      var ul = el('ul', 'guidelines');
      data.guidelines.forEach(function (g) {
        var li = el('li');
        li.appendChild(el('span', 'guideline', g.text));
        li.appendChild(el('span', 'evidence', g.evidence + ' (' + g.n + (g.n === 1 ? ' run' : ' runs') + ', energy ' +
          g.method + ')'));
        ul.appendChild(li);
      });
      card.appendChild(ul);
    }
    if (data.withheld.length) {
      var d = el('details', 'withheld');
      d.appendChild(el('summary', null, 'Withheld (' + data.withheld.length + ')'));
      var ul2 = el('ul', 'notes');
      data.withheld.forEach(function (w) { ul2.appendChild(el('li', null, w.topic + ': ' + w.reason)); });
      d.appendChild(ul2);
      card.appendChild(d);
    }
    if (data.inference_shares.length) {
      card.appendChild(el('h3', null, 'Inference share over ' + count(data.inferences) + ' inferences'));
      table(card, ['configuration', { label: 'training', numeric: true }, { label: 'inference / sample', numeric: true },
        { label: 'lifetime', numeric: true }, { label: 'inference share', numeric: true },
        { label: 'break-even inferences', numeric: true }, 'energy'],
      data.inference_shares.map(function (i) {
        return [i.label, si(i.training_energy_j, 'J'), si(i.inference_energy_per_sample_j, 'J'), si(i.lifetime_energy_j, 'J'),
          percent(i.inference_share), count(i.break_even_inferences), i.method];
      }), 'data compact');
    }
  }

  function runsSection() {
    var card = el('section', 'card');
    card.id = 'section-runs';
    card.appendChild(el('h2', null, 'Runs analysed (' + data.runs.length + ')'));
    main.appendChild(card);
    if (!data.runs.length) {
      noData(card, 'no completed or profiled run matches');
    } else {
      table(card, ['id', 'name', 'model', { label: 'batch', numeric: true }, 'status', { label: 'duration', numeric: true },
        { label: 'energy', numeric: true }, { label: 'attributed', numeric: true },
        { label: 'energy / sample', numeric: true }, { label: 'accuracy', numeric: true }, 'how measured'],
      data.runs.map(function (r) {
        var how = Object.keys(r.energy_method || {}).map(function (d) {
          return d + ': ' + r.energy_method[d];
        }).join(', ');
        return [shortId(r.id), r.name, r.model, isNum(r.batch_size) ? num(r.batch_size, 6) : '–', r.status,
          seconds(r.duration_s), si(r.total_energy_j, 'J'), si(r.attributed_energy_j, 'J'),
          isNum(r.energy_per_sample_j) ? si(r.energy_per_sample_j, 'J') + ' (' + r.basis + ')' : '–',
          isNum(r.accuracy) ? num(r.accuracy, 4) : '–',
          (how || r.method) + (r.attributed_method ? '; attributed: ' + r.attributed_method : '')];
      }), 'data compact');
    }
    if (data.warnings.length) {
      card.appendChild(el('h3', null, 'Warnings'));
      notes(card, data.warnings);
    }
  }

  function overview() {
    var sub = document.getElementById('subtitle');
    var parts = ['Generated ' + data.generated_at, 'store ' + (data.store || '(none)'),
      data.runs_analysed + (data.runs_analysed === 1 ? ' run' : ' runs') + ' analysed' +
        (data.runs_matched !== data.runs_analysed ? ' of ' + data.runs_matched + ' matching' : '')];
    if (data.filter) parts.push('filters: ' + data.filter);
    sub.textContent = parts.join(' · ');
    var total = 0, known = 0;
    data.runs.forEach(function (r) { if (isNum(r.total_energy_j)) { total += r.total_energy_j; known++; } });
    var strip = el('div', 'overview');
    function tile(label, value) {
      var t = el('div', 'tile');
      t.appendChild(el('div', 'tile-value', value));
      t.appendChild(el('div', 'tile-label', label));
      strip.appendChild(t);
    }
    tile('runs analysed', String(data.runs_analysed));
    tile('energy of these runs', known ? si(total, 'J') : '–');
    var models = {};
    data.runs.forEach(function (r) { if (r.model) models[r.model] = true; });
    tile('models', String(Object.keys(models).length));
    var chartsWithData = ['timeline', 'batch', 'pareto', 'correlations', 'forecast'].filter(function (k) {
      return data.sections[k] && data.sections[k].status === 'ok';
    }).length;
    tile('charts with data', chartsWithData + ' of 5');
    main.appendChild(strip);
  }

  // ---- Draw everything -----------------------------------------------------------------------------------

  main.textContent = '';
  overview();
  var sections = data.sections || {};
  timelineSection(sections.timeline);
  batchSection(sections.batch);
  paretoSection(sections.pareto);
  correlationSection(sections.correlations);
  forecastSection(sections.forecast);
  guidelinesSection();
  runsSection();

  window.addEventListener('resize', function () { charts.forEach(function (c) { c.resize(); }); });
  document.documentElement.setAttribute('data-report-ready', String(charts.length));
})();
