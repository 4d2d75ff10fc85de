// The dify-batch jobs dashboard: plain browser JavaScript, no build step, served by the gateway.
// The API key lives in sessionStorage (gone when the tab closes) and goes out as `Authorization: Bearer`;
// live progress is the gateway's server-sent events read through fetch streaming, because EventSource
// cannot send an Authorization header.

const KEY = 'difyBatchKey';
const $ = (selector) => document.querySelector(selector);
let selected;
let events;
let samples = [];

function key() {
  return sessionStorage.getItem(KEY) ?? '';
}

async function api(path, init = {}) {
  const response = await fetch(path, {
    ...init,
    headers: { ...(init.headers ?? {}), Authorization: `Bearer ${key()}` },
  });
  const body = (response.headers.get('content-type') ?? '').includes('json')
    ? await response.json()
    : await response.text();
  if (!response.ok) throw new Error(body?.message ?? `HTTP ${response.status}`);
  return body;
}

function say(text) {
  $('#message').textContent = text;
}

function percent(job) {
  if (job.status === 'succeeded') return 100;
  return job.progress === null ? 0 : Math.floor(job.progress * 100);
}

function cell(row, text) {
  const td = row.insertCell();
  td.textContent = text;
  return td;
}

async function loadJobs() {
  if (key() === '') return;
  try {
    const { jobs } = await api('/v1/jobs');
    const body = $('#jobs tbody');
    body.replaceChildren();
    for (const job of jobs) {
      const row = body.insertRow();
      row.dataset.id = job.id;
      row.className = job.id === selected ? 'selected' : '';
      cell(row, job.id + (job.input.retry_of ? ' (retry)' : ''));
      const status = cell(row, '');
      const badge = document.createElement('span');
      badge.className = `status ${job.status}`;
      badge.textContent = job.status;
      status.append(badge);
      cell(row, `${percent(job)} %`);
      cell(row, new Date(job.created_at).toLocaleTimeString());
      row.addEventListener('click', () => select(job.id));
    }
  } catch (error) {
    say(`Could not list jobs: ${error.message}`);
  }
}

function showJob(job) {
  $('#job-id').textContent = job.id;
  const status = $('#job-status');
  status.textContent = job.status + (job.waiting_for_owner ? ' (waiting for its owner)' : '');
  status.className = `status ${job.status}`;
  const p = percent(job);
  const bar = $('#progress');
  bar.setAttribute('aria-valuenow', String(p));
  bar.querySelector('div').style.width = `${p}%`;
  bar.querySelector('span').textContent = `${p} %`;
  const c = job.counts;
  const facts = [
    ['records', c.total ?? '?'],
    ['written', c.written],
    ['succeeded', c.succeeded],
    ['failed', c.failed],
    ['retries', c.retries],
    ['results/s', job.throughput_per_sec],
    ['ETA', job.eta_seconds === null ? '–' : `${job.eta_seconds} s`],
    ['latency p50', `${job.latency_ms.p50} ms`],
    ['latency p90', `${job.latency_ms.p90} ms`],
    ['latency p99', `${job.latency_ms.p99} ms`],
  ];
  $('#counts').replaceChildren(
    ...facts.map(([name, value]) => {
      const div = document.createElement('div');
      const dt = document.createElement('dt');
      const dd = document.createElement('dd');
      dt.textContent = name;
      dd.textContent = String(value);
      dd.dataset.name = name;
      div.append(dt, dd);
      return div;
    }),
  );
  const failures = $('#failures tbody');
  failures.replaceChildren();
  for (const [code, entry] of Object.entries(job.errors_by_code)) {
    const row = failures.insertRow();
    cell(row, code);
    cell(row, String(entry.count));
    cell(row, entry.examples.map((e) => `#${e.seq} (${e.id}): ${e.message}`).join('\n'));
  }
  const running = job.status === 'queued' || job.status === 'running';
  $('#cancel').disabled = !running;
  $('#retry').disabled = running || c.failed === 0;
  if (job.error) say(`Job stopped: ${job.error.code}: ${job.error.message}`);
}

function drawChart() {
  const svg = $('#chart');
  const width = 600;
  const height = 200;
  const points = samples.slice(-120);
  const line = (values, color, name) => {
    const max = Math.max(1, ...values);
    const step = points.length > 1 ? width / (points.length - 1) : width;
    const coords = values.map(
      (v, i) => `${(i * step).toFixed(1)},${(height - 14 - (v / max) * (height - 28)).toFixed(1)}`,
    );
    return (
      `<polyline data-series="${name}" fill="none" stroke="${color}" stroke-width="2" vector-effect="non-scaling-stroke" points="${coords.join(' ')}"/>` +
      `<text x="${name === 'throughput' ? 4 : 596}" y="12" text-anchor="${name === 'throughput' ? 'start' : 'end'}" font-size="11" fill="${color}">max ${Math.round(max)}${name === 'throughput' ? '/s' : ' ms'}</text>`
    );
  };
  svg.innerHTML =
    points.length === 0
      ? '<text x="10" y="100" font-size="12" fill="#888">waiting for data…</text>'
      : line(
          points.map((s) => s.throughput),
          '#3b82f6',
          'throughput',
        ) +
        line(
          points.map((s) => s.p50),
          '#e0742b',
          'latency',
        );
}

/** Reads the job's server-sent events with fetch (so the Authorization header goes along). */
async function follow(id, signal) {
  const response = await fetch(`/v1/jobs/${id}/events`, {
    headers: { Authorization: `Bearer ${key()}` },
    signal,
  });
  if (!response.ok || response.body === null) throw new Error(`HTTP ${response.status}`);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end = buffer.indexOf('\n\n');
    while (end !== -1) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      end = buffer.indexOf('\n\n');
      let event = 'message';
      let data = '';
      for (const line of frame.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data += line.slice(6);
      }
      if (data === '') continue;
      const payload = JSON.parse(data);
      if (event === 'status') {
        if (payload.samples) samples = payload.samples;
        showJob(payload);
        drawChart();
      } else if (event === 'sample') {
        samples.push(payload);
        drawChart();
      } else if (event === 'end') {
        loadJobs();
      }
    }
  }
}

function select(id) {
  selected = id;
  samples = [];
  events?.abort();
  events = new AbortController();
  $('#detail').hidden = false;
  for (const row of document.querySelectorAll('#jobs tbody tr'))
    row.className = row.dataset.id === id ? 'selected' : '';
  follow(id, events.signal).catch((error) => {
    if (error.name !== 'AbortError') say(`Live updates stopped: ${error.message}`);
  });
}

async function download(kind) {
  const response = await fetch(`/v1/jobs/${selected}/${kind}`, {
    headers: { Authorization: `Bearer ${key()}` },
  });
  const url = URL.createObjectURL(await response.blob());
  window.open(url, '_blank');
}

$('#key-form').addEventListener('submit', (event) => {
  event.preventDefault();
  sessionStorage.setItem(KEY, $('#key').value.trim());
  $('#key').value = '';
  say('Key set for this tab.');
  loadJobs();
});

$('#submit-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const file = $('#file').files[0];
  const text = $('#records').value;
  const body = file ?? text;
  const name = file?.name ?? '';
  const type = /\.csv$/i.test(name)
    ? 'text/csv'
    : /\.json$/i.test(name) || text.trim().startsWith('[')
      ? 'application/json'
      : 'application/x-ndjson';
  try {
    const query = new URLSearchParams({ app: $('#app').value });
    if ($('#id-field').value.trim() !== '') query.set('id_field', $('#id-field').value.trim());
    const job = await api(`/v1/jobs?${query}`, {
      method: 'POST',
      headers: { 'Content-Type': type },
      body,
    });
    say(`Submitted ${job.id}.`);
    await loadJobs();
    select(job.id);
  } catch (error) {
    say(`Submit failed: ${error.message}`);
  }
});

$('#cancel').addEventListener('click', async () => {
  try {
    await api(`/v1/jobs/${selected}/cancel`, { method: 'POST' });
    await loadJobs();
  } catch (error) {
    say(`Cancel failed: ${error.message}`);
  }
});

$('#retry').addEventListener('click', async () => {
  try {
    const job = await api(`/v1/jobs/${selected}/retry-failed`, { method: 'POST' });
    say(`Retrying the failures as ${job.id}.`);
    await loadJobs();
    select(job.id);
  } catch (error) {
    say(`Retry failed: ${error.message}`);
  }
});

$('#results-link').addEventListener('click', (event) => {
  event.preventDefault();
  download('results');
});
$('#errors-link').addEventListener('click', (event) => {
  event.preventDefault();
  download('errors');
});

loadJobs();
setInterval(loadJobs, 3000);
