// Unit tests of the browser SDK (monitor/collect/static/firstcall.js) on recorded stats
// objects, run by node:test (tests/monitor/collect/test_sdk_node.py runs this file).
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {readFileSync} from 'node:fs';
import {fileURLToPath} from 'node:url';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const sdkUrl = new URL('../../monitor/collect/static/firstcall.js', import.meta.url);
const source = readFileSync(fileURLToPath(sdkUrl), 'utf8');
const FC = await import('data:text/javascript;base64,' + Buffer.from(source).toString('base64'));
const load = (name) => JSON.parse(readFileSync(here(`../support/data/webrtc/${name}`), 'utf8'));

const at = (report) => report.find((s) => s.type === 'inbound-rtp').timestamp;

test('Chromium getStats(): a healthy call maps to clean contract fields', () => {
  const rec = load('chromium_healthy.json');
  const a = FC.snapshotFromReport(rec.first, at(rec.first));
  const b = FC.snapshotFromReport(rec.second, at(rec.second));
  assert.equal(b.rttMs, 1); // the selected pair's currentRoundTripTime, 0.001 s
  const s = FC.intervalStats(a, b);
  assert.deepEqual(s, {interval_ms: 2014, rtt_ms: 1, jitter_ms: 1, loss_pct: 0,
    recv_kbps: 224.1, fps: 20, freeze_ms: 0, audio_stall_ms: 0});
});

test('webrtc-stats deltas: loss, bytes, freezes and concealment of one interval', () => {
  const report = (lost, got, bytes, freezeS, concealed, total, fps) => [
    {id: 'T', type: 'transport', selectedCandidatePairId: 'P'},
    {id: 'P', type: 'candidate-pair', currentRoundTripTime: 0.42},
    {id: 'P2', type: 'candidate-pair', currentRoundTripTime: 0.001, nominated: true, state: 'succeeded'},
    {id: 'V', type: 'inbound-rtp', kind: 'video', packetsLost: lost, packetsReceived: got,
      bytesReceived: bytes, framesPerSecond: fps, totalFreezesDuration: freezeS, jitter: 0.03},
    {id: 'A', type: 'inbound-rtp', kind: 'audio', packetsLost: 0, packetsReceived: 100,
      bytesReceived: 0, concealedSamples: concealed, totalSamplesReceived: total, jitter: 0.01},
  ];
  const a = FC.snapshotFromReport(report(10, 1000, 1e6, 1.0, 0, 96000, 24), 0);
  const b = FC.snapshotFromReport(report(31, 1180, 1.05e6, 2.9, 24000, 192000, 6), 2000);
  assert.deepEqual(FC.intervalStats(a, b), {interval_ms: 2000, rtt_ms: 420, jitter_ms: 30,
    loss_pct: 10.4, recv_kbps: 200, fps: 6, freeze_ms: 1900, audio_stall_ms: 500});
});

test('no inbound video (camera off) is a heartbeat, not stats', () => {
  const audioOnly = [{id: 'A', type: 'inbound-rtp', kind: 'audio', packetsReceived: 5}];
  const a = FC.snapshotFromReport(audioOnly, 0);
  assert.equal(FC.intervalStats(a, FC.snapshotFromReport(audioOnly, 2000)), null);
});

test('Agora Web SDK: RTCStats, remote video and audio stats map to the contract', () => {
  const rec = load('agora_samples.json');
  assert.deepEqual(FC.agoraInterval(rec.first, rec.second), {interval_ms: 2000, rtt_ms: 620,
    jitter_ms: 0, loss_pct: 14.5, recv_kbps: 210, fps: 4, freeze_ms: 1000, audio_stall_ms: 500});
  assert.equal(FC.agoraInterval(rec.second, rec.camera_off), null);
});

test('LiveKit receiver stats map through the webrtc-stats mapping', () => {
  const rec = load('livekit_samples.json');
  const s = FC.intervalStats(FC.snapshotFromLiveKit(rec.first), FC.snapshotFromLiveKit(rec.second));
  assert.deepEqual(s, {interval_ms: 2000, rtt_ms: 41.5, jitter_ms: 12, loss_pct: 10,
    recv_kbps: 848, fps: 20, freeze_ms: 700, audio_stall_ms: 500});
});

test('connKind maps navigator.connection types', () => {
  assert.equal(FC.connKind({type: 'wifi'}), 'wifi');
  assert.equal(FC.connKind({type: 'ethernet'}), 'wired');
  assert.equal(FC.connKind({type: 'cellular'}), 'cellular');
  assert.equal(FC.connKind(undefined), 'unknown');
});

// A fake collector and fake timers for the transport.
function rig(statuses, opts = {}) {
  const posts = []; const timers = []; const beacons = [];
  const fetch = async (url, init) => {
    posts.push({url, init, events: JSON.parse(init.body)});
    const s = statuses.length ? statuses.shift() : 202;
    if (s === 'offline') throw new TypeError('Failed to fetch');
    return {status: s, headers: {get: (h) => (h === 'retry-after' && s === 429 ? '7' : null)}};
  };
  const t = new FC.Transport({endpoint: 'http://collect/', token: 'TOK', fetch, random: () => 0.5,
    setTimeout: (fn, ms) => { timers.push({fn, ms}); return timers.length; },
    clearTimeout: () => {}, sendBeacon: (url, blob) => { beacons.push({url, blob}); return true; },
    ...opts});
  return {t, posts, timers, beacons};
}
const ev = (i) => ({v: 1, type: 'stats', ts: i});

test('transport: batches in order with the bearer token', async () => {
  const {t, posts} = rig([]);
  for (let i = 0; i < 45; i += 1) t.push(ev(i));
  await t.flush();
  assert.deepEqual(posts.map((p) => p.events.length), [20, 20, 5]);
  assert.equal(posts[0].url, 'http://collect/v1/events');
  assert.equal(posts[0].init.headers.authorization, 'Bearer TOK');
  assert.deepEqual(posts.flatMap((p) => p.events.map((e) => e.ts)), [...Array(45).keys()]);
  assert.equal(t.sent, 45);
});

test('transport: offline and 503 back off exponentially; 429 waits Retry-After; nothing lost', async () => {
  const {t, posts, timers} = rig(['offline', 503, 429]);
  t.push(ev(1)); t.push(ev(2));
  await t.flush();
  assert.equal(timers.at(-1).ms, 1000);
  t.push(ev(3));
  timers.at(-1).fn(); await t.settled();
  assert.equal(timers.at(-1).ms, 2000);
  timers.at(-1).fn(); await t.settled();
  assert.equal(timers.at(-1).ms, 7000); // Retry-After: 7 beats the 4 s backoff
  timers.at(-1).fn(); await t.settled();
  assert.deepEqual(posts.at(-1).events.map((e) => e.ts), [1, 2, 3]);
  assert.equal(t.queue.length, 0);
});

test('transport: a refused batch (401/400) is dropped, not retried for ever', async () => {
  const errors = [];
  const {t, posts} = rig([401], {onError: (e) => errors.push(e)});
  t.push(ev(1));
  await t.flush();
  t.push(ev(2));
  await t.flush();
  assert.deepEqual(errors, [{status: 401, events: 1}]);
  assert.deepEqual(posts.map((p) => p.events[0].ts), [1, 2]);
});

test('transport: the offline buffer keeps the newest maxBuffer events', () => {
  const {t} = rig([], {maxBuffer: 3});
  for (let i = 0; i < 5; i += 1) t.push(ev(i));
  assert.deepEqual(t.queue.map((e) => e.ts), [2, 3, 4]);
  assert.equal(t.dropped, 2);
});

test('session: join, stats, heartbeat, reconnect, disconnect and a leave by beacon', async () => {
  const {t, posts, beacons} = rig([]);
  let now = 1800000000000; let timerFn = null;
  const snaps = [
    {at: 0, video: {fps: 20, framesDecoded: 0, freezeS: 0}},
    {at: 2000, video: {fps: 20, framesDecoded: 40, freezeS: 0}},
    {at: 4000, video: null},
  ];
  const source = {sample: async () => snaps.shift(),
    interval: (a, b) => (b.video ? {interval_ms: b.at - a.at} : null)};
  const s = new FC.Session(source, {session_id: 's1', student_id: 'u1', classroom_id: 'c1',
    device: {app_version: '3.1', os: 'Windows', device: 'pc'},
    network: {isp: 'isp', region: 'r', edge: 'e', conn: 'wifi'}},
  {now: () => now, transport: t, setInterval: (fn) => { timerFn = fn; return 1; }, clearInterval: () => {}});
  s.start();
  for (let i = 0; i < 3; i += 1) { now += 2000; await timerFn(); }
  s.onState('disconnected'); s.onState('connected'); s.onState('failed');
  await t.settled();
  const sent = posts.flatMap((p) => p.events);
  assert.deepEqual(sent.map((e) => e.type), ['join', 'stats', 'heartbeat', 'reconnect',
    'reconnect', 'disconnect']);
  assert.deepEqual(sent[0].client, {app_version: '3.1', os: 'Windows', device: 'pc'});
  assert.deepEqual(sent[0].network, {conn: 'wifi', isp: 'isp', region: 'r', edge: 'e'});
  assert.deepEqual([sent[3].ok, sent[4].ok, sent[5].reason], [false, true, 'network']);
  assert.ok(sent.every((e) => e.v === 1 && e.session_id === 's1' && e.student_id === 'u1'));
  assert.equal(s.leave(), true);
  assert.equal(beacons[0].url, 'http://collect/v1/events?token=TOK');
  const lines = (await beacons[0].blob.text()).split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((e) => e.type), ['leave']);
  assert.equal(beacons[0].blob.type, 'text/plain');
  assert.equal(s.leave(), false); // once
});

// A fake WebSocket: the test plays the gateway.
class FakeSocket {
  static all = [];
  constructor(url) { this.url = url; this.sent = []; this.readyState = 0; FakeSocket.all.push(this); }
  open() { this.readyState = 1; this.onopen(); }
  send(data) { this.sent.push(JSON.parse(data)); }
  serve(frame) { this.onmessage({data: JSON.stringify(frame)}); }
  drop() { this.readyState = 3; this.onclose(); }
  close() { this.drop(); }
}

test('chat: shows a message once, acks every copy, resends replies until acked', () => {
  FakeSocket.all = [];
  const shown = []; const timers = [];
  const c = new FC.ChatClient({endpoint: 'ws://gw/', token: 'a.b c', WebSocket: FakeSocket,
    onMessage: (f) => shown.push(f.text), setTimeout: (fn, ms) => timers.push({fn, ms}),
    random: () => 0.5});
  c.connect();
  const ws = FakeSocket.all[0];
  assert.equal(ws.url, 'ws://gw/?token=a.b%20c');
  ws.open();
  const msg = {type: 'message', id: 'm1', case_id: 'k', text: '孩子的课堂有点卡', sent_at: 1};
  ws.serve(msg); ws.serve(msg); // redelivered: shown once, acked twice
  assert.deepEqual(shown, ['孩子的课堂有点卡']);
  assert.deepEqual(ws.sent, [{type: 'ack', id: 'm1'}, {type: 'ack', id: 'm1'}]);
  const id = c.reply('请给我打电话', 'm1');
  assert.deepEqual(ws.sent.at(-1), {type: 'reply', id, text: '请给我打电话', in_reply_to: 'm1'});
  ws.drop();
  assert.equal(timers[0].ms, 500);
  timers[0].fn();
  const ws2 = FakeSocket.all[1];
  ws2.open(); // the un-acked reply goes again
  assert.deepEqual(ws2.sent, [{type: 'reply', id, text: '请给我打电话', in_reply_to: 'm1'}]);
  ws2.serve({type: 'ack', id});
  ws2.serve(msg); // after a reconnect the old message is still not shown again
  assert.deepEqual(shown, ['孩子的课堂有点卡']);
  ws2.drop(); timers.at(-1).fn(); FakeSocket.all[2].open();
  assert.deepEqual(FakeSocket.all[2].sent, []); // acked: not sent again
  c.close();
  assert.equal(timers.length, 2); // closed for good: no reconnect
});

test('chat: reconnect backoff doubles up to the cap and resets once open', () => {
  FakeSocket.all = [];
  const timers = [];
  const c = new FC.ChatClient({endpoint: 'ws://gw/', token: 't', WebSocket: FakeSocket,
    setTimeout: (fn, ms) => timers.push({fn, ms}), random: () => 0.5, maxDelayMs: 1500});
  c.connect();
  for (let i = 0; i < 4; i += 1) { FakeSocket.all.at(-1).drop(); timers.at(-1).fn(); }
  assert.deepEqual(timers.map((t) => t.ms), [500, 1000, 1500, 1500]);
  FakeSocket.all.at(-1).open(); FakeSocket.all.at(-1).drop();
  assert.equal(timers.at(-1).ms, 500);
});

// ---- A fix in one tap: a lighter picture --------------------------------------------

function fakeSender(kind, encodings) {
  const sender = {track: kind ? {kind} : null, set: [],
    getParameters: () => ({transactionId: 't1', encodings: encodings.map((e) => ({...e}))}),
    setParameters: async (p) => { sender.set.push(p); }};
  return sender;
}

test('lighterPicture lowers every video sender (maxBitrate, resolution), never raises it', async () => {
  const cam = fakeSender('video', [{maxBitrate: 1500000}]);
  const bare = fakeSender('video', []); // Chromium before the first negotiation: no encodings
  const low = fakeSender('video', [{maxBitrate: 100000, scaleResolutionDownBy: 4}]);
  const mic = fakeSender('audio', [{maxBitrate: 64000}]);
  const pc = {getSenders: () => [cam, bare, low, mic, fakeSender(null, [])]};
  const applied = await FC.lighterPicture(pc);
  assert.deepEqual(cam.set[0].encodings, [{maxBitrate: 250000, scaleResolutionDownBy: 2}]);
  assert.equal(cam.set[0].transactionId, 't1'); // the parameters as read, changed in place
  assert.deepEqual(bare.set[0].encodings, [{maxBitrate: 250000, scaleResolutionDownBy: 2}]);
  assert.deepEqual(low.set[0].encodings, [{maxBitrate: 100000, scaleResolutionDownBy: 4}]);
  assert.deepEqual(mic.set, []);
  assert.equal(applied.length, 3);
});

test('agoraLighterPicture asks for the teacher\'s low stream with fallback', async () => {
  const calls = [];
  const client = {setRemoteVideoStreamType: async (...a) => calls.push(['type', ...a]),
    setStreamFallbackOption: async (...a) => calls.push(['fallback', ...a])};
  await FC.agoraLighterPicture(client, 42);
  assert.deepEqual(calls, [['type', 42, 1], ['fallback', 42, 2]]);
});

test('session: the applied remedy rides once on the next stats event', async () => {
  const {t, posts} = rig([]);
  let now = 1800000000000; let timerFn = null;
  const source = {sample: async (at) => ({at}), interval: (a, b) => ({interval_ms: b.at - a.at})};
  const s = new FC.Session(source, {session_id: 's1', student_id: 'u1', classroom_id: 'c1'},
    {now: () => now, transport: t, setInterval: (fn) => { timerFn = fn; return 1; },
      clearInterval: () => {}});
  s.start();
  now += 2000; await timerFn();
  s.markRemedy('lighter_picture');
  for (let i = 0; i < 2; i += 1) { now += 2000; await timerFn(); }
  await t.settled();
  const stats = posts.flatMap((p) => p.events).filter((e) => e.type === 'stats');
  assert.deepEqual(stats.map((e) => e.remedy), ['lighter_picture', undefined]);
  assert.equal(stats[0].remedy_at, 1800000002000);
});

// A DOM just big enough for the bubble.
function fakeDocument() {
  const el = (tag) => ({tag, hidden: false, textContent: '', className: '', children: [],
    listeners: {}, setAttribute() {}, append(...c) { this.children.push(...c); },
    appendChild(c) { this.children.push(c); }, remove() {},
    addEventListener(type, fn) { this.listeners[type] = fn; }});
  return {createElement: el, getElementById: () => null, head: el('head'), body: el('body')};
}

test('chat bubble: an offered remedy shows its button; a tap applies it, then replies with the intent', async () => {
  FakeSocket.all = [];
  globalThis.document = fakeDocument();
  const applied = []; const marks = [];
  const bubble = FC.chat({endpoint: 'ws://gw/', token: 't', lang: 'en', WebSocket: FakeSocket,
    onRemedy: async (name) => { applied.push(name); }, session: {markRemedy: (n) => marks.push(n)}});
  const ws = FakeSocket.all[0]; ws.open();
  const [, , remedy] = bubble.element.children;
  assert.equal(remedy.className, 'fc-remedy');
  ws.serve({type: 'message', id: 'm0', case_id: 'k', text: 'plain', sent_at: 1});
  assert.equal(remedy.hidden, true); // no offer, no button
  ws.serve({type: 'message', id: 'm1', case_id: 'k', text: 'lighter?', sent_at: 2,
    remedy: 'lighter_picture'});
  assert.equal(remedy.hidden, false);
  assert.equal(remedy.textContent, 'Switch to a lighter picture');
  await remedy.listeners.click();
  await remedy.listeners.click(); // a second tap does nothing
  assert.deepEqual(applied, ['lighter_picture']);
  assert.deepEqual(marks, ['lighter_picture']);
  const replies = ws.sent.filter((f) => f.type === 'reply');
  assert.equal(replies.length, 1);
  assert.deepEqual({...replies[0], id: 'x'}, {type: 'reply', id: 'x', in_reply_to: 'm1',
    text: 'Switch to a lighter picture', intent: 'remedy_applied'});
  bubble.close();
  delete globalThis.document;
});

test('chat bubble: a remedy that fails to apply sends nothing and can be tapped again', async () => {
  FakeSocket.all = [];
  globalThis.document = fakeDocument();
  let fail = true;
  const bubble = FC.chat({endpoint: 'ws://gw/', token: 't', WebSocket: FakeSocket,
    onRemedy: async () => { if (fail) throw new Error('InvalidModificationError'); }});
  const ws = FakeSocket.all[0]; ws.open();
  const remedy = bubble.element.children[2];
  ws.serve({type: 'message', id: 'm1', case_id: 'k', text: '卡', sent_at: 2, remedy: 'lighter_picture'});
  await remedy.listeners.click();
  assert.equal(remedy.hidden, false);
  assert.deepEqual(ws.sent.filter((f) => f.type === 'reply'), []);
  fail = false;
  await remedy.listeners.click();
  assert.equal(ws.sent.filter((f) => f.type === 'reply')[0].intent, 'remedy_applied');
  bubble.close();
  delete globalThis.document;
});
