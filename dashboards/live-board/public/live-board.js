/* global document, window, sessionStorage, EventSource, history, location */
import uPlot from '/live/assets/uPlot.esm.js';

/**
 * The live board: one EventSource on /v1/live/events (the server pushes an overview every
 * second), uPlot charts and plain DOM for the rest. No build step: this file is what runs.
 */

const TOKEN_KEY = 'livepulse.apiToken';
const MAX_CHART_STREAMS = 8;
const PALETTE = ['#ff5a5f', '#3ddc84', '#4da3ff', '#ffb400', '#b47cff', '#00d1c1', '#ff7ac8', '#c0c6d6'];

const $ = (selector) => document.querySelector(selector);
const formatNumber = (value) => new Intl.NumberFormat().format(Math.round(value * 10) / 10);
const formatTime = (ms) => new Date(ms).toLocaleTimeString();

function takeToken() {
  const url = new URL(location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl);
    // Keep the token out of the address bar, history and screenshots.
    url.searchParams.delete('token');
    history.replaceState(null, '', url.pathname + url.search);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

function askForToken(message) {
  $('#board').hidden = true;
  $('#token-form').hidden = false;
  setStatus(message ?? 'an API token is needed', false);
}

function setStatus(text, live) {
  const status = $('#connection');
  status.textContent = text;
  status.classList.toggle('live', live);
}

const fileUrl = (token, clipId, name) =>
  `/v1/clips/${encodeURIComponent(clipId)}/files/${encodeURIComponent(name)}?token=${encodeURIComponent(token)}`;

/** A uPlot chart that is rebuilt when its series change and otherwise only gets new data. */
class Chart {
  constructor(element, { yLabel, bars = false, xTime = true }) {
    this.element = element;
    this.yLabel = yLabel;
    this.bars = bars;
    this.xTime = xTime;
    this.plot = null;
    this.signature = '';
  }

  update(labels, data, xValues) {
    const signature = JSON.stringify(labels) + (xValues ? JSON.stringify(xValues) : '');
    if (this.plot && signature === this.signature) {
      this.plot.setData(data);
      return;
    }
    this.plot?.destroy();
    this.signature = signature;
    const width = Math.max(280, this.element.clientWidth);
    const series = [
      {},
      ...labels.map((label, index) => ({
        label,
        stroke: PALETTE[index % PALETTE.length],
        fill: this.bars ? `${PALETTE[index % PALETTE.length]}99` : undefined,
        width: 2,
        paths: this.bars ? uPlot.paths.bars({ size: [0.6, 60] }) : undefined,
        points: { show: false },
      })),
    ];
    const axes = [
      this.xTime
        ? { stroke: '#8a93ab', grid: { stroke: '#262d42' } }
        : { stroke: '#8a93ab', grid: { show: false }, values: (_u, ticks) => ticks.map((t) => xValues?.[t] ?? '') },
      { stroke: '#8a93ab', grid: { stroke: '#262d42' }, label: this.yLabel },
    ];
    this.plot = new uPlot(
      {
        width,
        height: 220,
        series,
        axes,
        scales: { x: { time: this.xTime }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.15)] } },
        legend: { live: false },
      },
      data,
      this.element,
    );
  }
}

const charts = {
  viewers: new Chart($('#viewers-chart'), { yLabel: 'viewers' }),
  chat: new Chart($('#chat-chart'), { yLabel: 'messages/min' }),
  moderation: new Chart($('#moderation-chart'), { yLabel: 'actions', bars: true, xTime: false }),
};

function drawViewers(streams) {
  const shown = streams.slice(0, MAX_CHART_STREAMS);
  const starts = [...new Set(shown.flatMap((s) => s.viewers.series.map((w) => w.window_start)))].sort((a, b) => a - b);
  const data = [starts.map((ms) => ms / 1000)];
  for (const stream of shown) {
    const byStart = new Map(stream.viewers.series.map((w) => [w.window_start, w.concurrent]));
    data.push(starts.map((start) => byStart.get(start) ?? null));
  }
  charts.viewers.update(
    shown.map((s) => s.stream_id),
    data,
  );
}

function drawChat(streams) {
  const shown = streams.slice(0, MAX_CHART_STREAMS);
  const bins = shown[0]?.chat.series.map((bin) => bin.at / 1000) ?? [];
  charts.chat.update(
    shown.map((s) => s.stream_id),
    [bins, ...shown.map((s) => s.chat.series.map((bin) => bin.per_min))],
  );
}

function drawModeration(streams) {
  const totals = new Map();
  const add = (action, count) => totals.set(action, (totals.get(action) ?? 0) + count);
  for (const stream of streams) {
    for (const [action, count] of Object.entries(stream.moderation.actions)) add(action, count);
    add('held inline', stream.moderation.held_inline);
    add('blocked inline', stream.moderation.blocked_inline);
  }
  const actions = [...totals.keys()].sort();
  charts.moderation.update(
    ['actions'],
    [actions.map((_, index) => index), actions.map((action) => totals.get(action))],
    actions,
  );
}

function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function drawStreams(streams) {
  const rows = streams.map((stream) => {
    const tr = document.createElement('tr');
    tr.dataset.streamId = stream.stream_id;
    const moderation =
      Object.values(stream.moderation.actions).reduce((sum, n) => sum + n, 0) +
      stream.moderation.held_inline +
      stream.moderation.blocked_inline;
    tr.append(
      cell(stream.stream_id, 'stream-id'),
      cell(stream.creator_id ?? '–', 'creator'),
      cell(formatNumber(stream.viewers.current), 'viewers-current'),
      cell(formatNumber(stream.viewers.peak), 'viewers-peak'),
      cell(formatNumber(stream.chat.rate_per_min_10s), 'chat-rate-10s'),
      cell(formatNumber(stream.chat.rate_per_min_60s), 'chat-rate-60s'),
      cell(formatNumber(stream.chat.total), 'chat-total'),
      cell(formatNumber(moderation), 'moderation-total'),
      cell(formatNumber(stream.active_highlights.length), 'highlights-active'),
    );
    return tr;
  });
  $('#streams tbody').replaceChildren(...rows);
}

function drawHighlights(streams) {
  const highlights = streams
    .flatMap((stream) =>
      stream.highlights.map((h) => ({
        ...h,
        active: stream.active_highlights.some((a) => a.highlight_id === h.highlight_id),
      })),
    )
    .sort((a, b) => b.detected_at - a.detected_at)
    .slice(0, 12);
  const items = highlights.map((h) => {
    const li = document.createElement('li');
    li.dataset.highlightId = h.highlight_id;
    li.className = h.active ? 'active' : '';
    li.textContent = `${formatTime(h.detected_at)} · ${h.stream_id} · ${h.reasons.join(', ') || 'requested'} · score ${h.score.toFixed(1)}`;
    return li;
  });
  $('#highlights').replaceChildren(...items);
}

function drawClips(streams, token) {
  const clips = streams
    .flatMap((stream) => stream.clips.map((clip) => ({ ...clip, stream_id: stream.stream_id })))
    .sort((a, b) => b.finished_at - a.finished_at);
  const container = $('#clips');
  // Rebuilding would reload every thumbnail each second; only new or changed clips are redrawn.
  const wanted = clips.map((clip) => `${clip.clip_id}:${clip.status}:${clip.outputs.join(',')}`);
  if (container.dataset.clips === wanted.join('|')) return;
  container.dataset.clips = wanted.join('|');
  const cards = clips.map((clip) => {
    const card = document.createElement('button');
    card.type = 'button';
    card.className = 'clip';
    card.dataset.clipId = clip.clip_id;
    if (clip.outputs.includes('thumbnail')) {
      const img = document.createElement('img');
      img.alt = `clip of ${clip.stream_id}`;
      img.src = fileUrl(token, clip.clip_id, 'thumbnail');
      card.append(img);
    }
    const label = document.createElement('span');
    label.textContent =
      clip.status === 'failed'
        ? `${clip.stream_id} · failed: ${clip.reason ?? ''}`
        : `${clip.stream_id} · ${Math.round((clip.duration_ms ?? 0) / 1000)} s`;
    card.append(label);
    if (clip.outputs.includes('mp4')) card.addEventListener('click', () => play(fileUrl(token, clip.clip_id, 'mp4')));
    return card;
  });
  container.replaceChildren(...cards);
}

function play(url) {
  const video = $('#player-video');
  video.src = url;
  $('#player').showModal();
  void video.play().catch(() => undefined);
}
$('#player').addEventListener('close', () => $('#player-video').pause());

function draw(overview, token) {
  $('#total-viewers').textContent = formatNumber(overview.total_viewers);
  $('#active-streams').textContent = formatNumber(overview.active_streams);
  $('#updated-at').textContent = formatTime(overview.at);
  $('#updated-at').dataset.at = String(overview.at);
  drawViewers(overview.streams);
  drawChat(overview.streams);
  drawModeration(overview.streams);
  drawStreams(overview.streams);
  drawHighlights(overview.streams);
  drawClips(overview.streams, token);
}

async function connect(token) {
  // EventSource hides the status of a failed connection; one plain request tells 401 apart.
  const probe = await fetch('/v1/live/overview', { headers: { authorization: `Bearer ${token}` } });
  if (probe.status === 401 || probe.status === 403) {
    sessionStorage.removeItem(TOKEN_KEY);
    askForToken(`token rejected (${probe.status}): ${(await probe.json()).message}`);
    return;
  }
  $('#token-form').hidden = true;
  $('#board').hidden = false;
  if (probe.ok) draw(await probe.json(), token);
  const events = new EventSource(`/v1/live/events?token=${encodeURIComponent(token)}`);
  events.addEventListener('open', () => setStatus('live', true));
  events.addEventListener('overview', (event) => draw(JSON.parse(event.data), token));
  events.addEventListener('error', () => setStatus('reconnecting…', false));
}

$('#token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const token = $('#token-input').value.trim();
  if (!token) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  void connect(token);
});

const token = takeToken();
if (token) void connect(token);
else askForToken();
window.addEventListener('resize', () => {
  for (const chart of Object.values(charts))
    chart.plot?.setSize({ width: Math.max(280, chart.element.clientWidth), height: 220 });
});
