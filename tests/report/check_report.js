// Opens a joulecast report in headless chromium and fails on any console error, page error or network request,
// or on a chart that did not draw (no canvas, zero size, or all its pixels one colour).
// usage: node check_report.js WEB_DIR CHROMIUM REPORT.html SCREENSHOT.png full|empty|any
//   full: every chart has data and drew; empty: every chart says "no data"; any: each does one or the other.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');

const [webDir, chromiumPath, reportFile, screenshotFile, mode] = process.argv.slice(2);
if (!mode || !['full', 'empty', 'any'].includes(mode)) {
  console.error('usage: node check_report.js WEB_DIR CHROMIUM REPORT.html SCREENSHOT.png full|empty|any');
  process.exit(2);
}
const { chromium } = require(path.join(path.resolve(webDir), 'node_modules', 'playwright-core'));

const SECTIONS = ['timeline', 'batch', 'pareto', 'correlations', 'forecast'];

// Console and page errors seen so far; printed even when the page never gets ready.
const failures = [];

async function main() {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'joulecast-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
    deviceScaleFactor: 1,
  });
  try {
    const page = context.pages()[0] || await context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') failures.push('console error: ' + message.text());
    });
    page.on('pageerror', (error) => failures.push('page error: ' + error.message));
    // The page must need nothing but itself.
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('file:') && path.resolve(new URL(url).pathname) === path.resolve(reportFile)) {
        return route.continue();
      }
      failures.push('request outside the page: ' + url);
      return route.abort();
    });

    await page.goto('file://' + path.resolve(reportFile), { waitUntil: 'load' });
    await page.waitForSelector('html[data-report-ready]', { timeout: 15000 });

    const sections = await page.evaluate((keys) => keys.map((key) => {
      const card = document.querySelector('[data-section="' + key + '"]');
      if (!card) return { key, missing: true };
      const result = { key, status: card.getAttribute('data-status'), noData: !!card.querySelector('[data-no-data]') };
      const box = card.querySelector('[data-chart]');
      if (!box) return result;
      result.drawn = box.getAttribute('data-drawn') === '1';
      const canvases = Array.from(box.querySelectorAll('canvas'));
      canvases.sort((a, b) => b.width * b.height - a.width * a.height);
      const canvas = canvases[0];
      if (!canvas) return result;
      const rect = canvas.getBoundingClientRect();
      result.size = [canvas.width, canvas.height, Math.round(rect.width), Math.round(rect.height)];
      // Distinct colours over a grid of samples: a blank canvas has one.
      const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      const colours = new Set();
      let painted = 0;
      for (let y = 0; y < canvas.height; y += 3) {
        for (let x = 0; x < canvas.width; x += 3) {
          const i = (y * canvas.width + x) * 4;
          const rgba = pixels[i] + ',' + pixels[i + 1] + ',' + pixels[i + 2] + ',' + pixels[i + 3];
          colours.add(rgba);
          if (rgba !== '255,255,255,255' && pixels[i + 3] !== 0) painted++;
        }
      }
      result.colours = colours.size;
      result.painted = painted;
      result.dataUrlLength = canvas.toDataURL('image/png').length;
      return result;
    }), SECTIONS);

    for (const s of sections) {
      if (s.missing) {
        failures.push(s.key + ': section missing');
        continue;
      }
      if (mode === 'full' || (mode === 'any' && s.status === 'ok')) {
        if (s.status !== 'ok') failures.push(s.key + ': expected data, got "' + s.status + '"');
        if (!s.drawn) failures.push(s.key + ': chart not drawn');
        if (!s.size || s.size.some((v) => v <= 0)) failures.push(s.key + ': canvas missing or of zero size');
        if (!(s.colours > 5 && s.painted > 200)) {
          failures.push(s.key + ': canvas nearly blank (' + s.colours + ' colours, ' + s.painted + ' painted samples)');
        }
      } else {
        if (s.status === 'ok' || !s.noData) failures.push(s.key + ': expected a "no data" section');
      }
      console.log(JSON.stringify(s));
    }

    const checks = await page.evaluate(() => ({
      // A run name with markup must appear as text, never as elements.
      markupAsText: Array.from(document.querySelectorAll('#section-runs td'))
        .some((td) => td.textContent.includes('<b>&"bold"</b>')),
      injected: document.querySelectorAll('#section-runs td b, #section-runs td *').length,
      sources: Array.from(document.querySelectorAll('[data-section] .source')).map((p) => p.textContent),
      runsRows: document.querySelectorAll('#section-runs tbody tr').length,
      // The job's own share beside the gross, in the timeline's card: [device, gross, attributed, share, how].
      runsAttributed: (() => {
        const headers = Array.from(document.querySelectorAll('#section-runs thead th')).map((th) => th.textContent);
        const column = headers.indexOf('attributed');
        return Array.from(document.querySelectorAll('#section-runs tbody tr'))
          .map((tr) => (tr.children[column] || {}).textContent);
      })(),
      attributed: Array.from(document.querySelectorAll('[data-section="timeline"] table[data-attributed] tbody tr'))
        .map((tr) => Array.from(tr.children).map((td) => td.textContent)),
    }));
    if (mode === 'full') {
      if (!checks.markupAsText) failures.push('the run name with markup is not shown as text');
      if (checks.injected !== 0) failures.push('markup from the data became elements');
      if (checks.runsRows !== 6) failures.push('expected 6 runs in the table, got ' + checks.runsRows);
      if (checks.sources.length !== SECTIONS.length) failures.push('every chart must say where its numbers come from');
      // The fake GPU lists the job at 60% of SM time beside another process at 20%: 75% is the job's.
      const gpu = checks.attributed.find((row) => row[0] === 'gpu0');
      const share = gpu ? parseFloat(gpu[3]) : NaN;
      if (!(share >= 70 && share <= 80)) failures.push('gpu0 attributed share ' + JSON.stringify(gpu) + ', expected 75%');
      if (gpu && !/SM utilisation/.test(gpu[4])) failures.push('gpu0 attributed share does not say how: ' + gpu[4]);
      if (!checks.attributed.some((row) => row[0] === 'cpu')) failures.push('no attributed CPU row: ' + JSON.stringify(checks.attributed));
      console.log('attributed: ' + JSON.stringify(checks.attributed));
      // Every run's share was measured (the job's CPU time and its GPU share): each has an attributed total.
      if (checks.runsAttributed.length !== 6 || checks.runsAttributed.some((text) => !/J$/.test(text || ''))) {
        failures.push('runs without an attributed total: ' + JSON.stringify(checks.runsAttributed));
      }
      for (const text of checks.sources) {
        if (!/counter|integrated|modelled|measured/.test(text)) failures.push('source without a method: ' + text);
      }
      // Exercise the interactive parts: the correlation toggle and tooltips over every chart.
      await page.click('#section-correlations button.toggle:not(.active)');
      for (const key of SECTIONS) {
        const box = await page.$('[data-chart="' + key + '"]');
        const b = box && await box.boundingBox();
        if (!b) continue;
        for (let fx = 0.15; fx < 1; fx += 0.14) {
          for (let fy = 0.2; fy < 1; fy += 0.2) await page.mouse.move(b.x + b.width * fx, b.y + b.height * fy);
        }
      }
      await page.mouse.move(0, 0);
    }

    await page.screenshot({ path: screenshotFile, fullPage: true });
    for (const key of mode === 'full' ? SECTIONS : []) {
      const box = await page.$('[data-chart="' + key + '"]');
      if (box) await box.screenshot({ path: screenshotFile.replace(/\.png$/, '-' + key + '.png') });
    }
  } finally {
    await context.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
  if (failures.length) {
    console.error('FAIL (' + mode + '):\n  ' + failures.join('\n  '));
    process.exit(1);
  }
  console.log('ok (' + mode + '): ' + reportFile + ', screenshot ' + screenshotFile);
}

main().catch((error) => {
  console.error('FAIL: ' + (error && error.stack || error));
  if (failures.length) console.error('  ' + failures.join('\n  '));
  process.exit(1);
});
