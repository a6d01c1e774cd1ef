// FirstCall browser SDK: live-class telemetry (contract: docs/contracts/telemetry.md) from
// a WebRTC call to the FirstCall collector (docs/collector.md). Plain ES module, no build:
//
//   import * as FirstCall from 'https://collector.example/sdk/firstcall.js';
//   const fc = FirstCall.attach(pc, {endpoint: 'https://collector.example', token,
//     session_id, student_id, classroom_id,
//     device: {app_version: '3.2.1', os: 'Windows 11', device: 'pc'},
//     network: {isp: 'unicom', region: 'bj', edge: 'sfu-3'}});
//   ... fc.leave() at the end of the lesson (page hide sends a leave by beacon anyway).
//
// attachAgora(client, opts) and attachLiveKit(room, opts) read those SDKs' statistics
// instead of an RTCPeerConnection (mappings below, each tested on recorded stats objects).

export const VERSION = '1.0.0';
const INTERVAL_MS = 2000;

const clamp = (x, lo, hi) => Math.min(hi, Math.max(lo, x));
const num = (x) => (typeof x === 'number' && Number.isFinite(x) ? x : 0);
const round1 = (x) => Math.round(x * 10) / 10;

// ---------------------------------------------------------------------------------------
// webrtc-stats (RTCPeerConnection.getStats(), LiveKit's getRTCStatsReport()) -> snapshot
// A snapshot holds the cumulative counters of one moment; two of them make one interval.

/** The cumulative counters of a getStats() report (an RTCStatsReport or a plain array). */
export function snapshotFromReport(report, atMs) {
  const stats = typeof report.values === 'function' ? [...report.values()] : [...report];
  const byId = new Map(stats.map((s) => [s.id, s]));
  const snap = {at: atMs, rttMs: null, jitterMs: 0, packetsLost: 0, packetsReceived: 0,
    bytesReceived: 0, video: null, audio: null};
  let pair = null;
  for (const s of stats) {
    if (s.type === 'transport' && s.selectedCandidatePairId) pair = byId.get(s.selectedCandidatePairId);
  }
  if (!pair) {
    pair = stats.find((s) => s.type === 'candidate-pair' && (s.selected || (s.nominated && s.state === 'succeeded')));
  }
  if (pair && typeof pair.currentRoundTripTime === 'number') snap.rttMs = pair.currentRoundTripTime * 1000;
  for (const s of stats) {
    if (s.type !== 'inbound-rtp') continue;
    snap.packetsLost += Math.max(0, num(s.packetsLost));
    snap.packetsReceived += num(s.packetsReceived);
    snap.bytesReceived += num(s.bytesReceived);
    snap.jitterMs = Math.max(snap.jitterMs, num(s.jitter) * 1000);
    if (s.kind === 'video' && !snap.video) {
      snap.video = {fps: typeof s.framesPerSecond === 'number' ? s.framesPerSecond : null,
        framesDecoded: num(s.framesDecoded), freezeS: num(s.totalFreezesDuration)};
    } else if (s.kind === 'audio' && !snap.audio) {
      snap.audio = {concealed: num(s.concealedSamples), silent: num(s.silentConcealedSamples),
        total: num(s.totalSamplesReceived)};
    }
  }
  return snap;
}

/** The contract's stats fields for the interval between two snapshots (null: no video). */
export function intervalStats(prev, curr) {
  if (!curr.video) return null;
  const ms = Math.max(1, curr.at - prev.at);
  const lost = Math.max(0, curr.packetsLost - prev.packetsLost);
  const got = Math.max(0, curr.packetsReceived - prev.packetsReceived);
  const pv = prev.video || {fps: 0, framesDecoded: curr.video.framesDecoded, freezeS: curr.video.freezeS};
  const fps = curr.video.fps !== null ? curr.video.fps
    : Math.max(0, curr.video.framesDecoded - pv.framesDecoded) * 1000 / ms;
  let stall = 0;
  if (curr.audio && prev.audio) {
    const total = curr.audio.total - prev.audio.total;
    const concealed = curr.audio.concealed - prev.audio.concealed;
    stall = total > 0 ? clamp(concealed / total, 0, 1) * ms : (got === 0 ? ms : 0);
  }
  return {
    interval_ms: clamp(Math.round(ms), 100, 60000),
    rtt_ms: round1(clamp(curr.rttMs ?? 0, 0, 600000)),
    jitter_ms: round1(clamp(curr.jitterMs, 0, 600000)),
    loss_pct: round1(lost + got > 0 ? 100 * lost / (lost + got) : 0),
    recv_kbps: round1(Math.max(0, curr.bytesReceived - prev.bytesReceived) * 8 / ms),
    fps: round1(clamp(fps, 0, 240)),
    freeze_ms: Math.round(clamp((curr.video.freezeS - pv.freezeS) * 1000, 0, ms)),
    audio_stall_ms: Math.round(clamp(stall, 0, ms)),
  };
}

// ---------------------------------------------------------------------------------------
// Agora Web SDK 4.x: client.getRTCStats(), client.getRemoteVideoStats()[uid],
// client.getRemoteAudioStats()[uid]. Agora reports rates and totals itself:
//   rtt_ms        <- RTCStats.RTT (ms)
//   loss_pct      <- remote video packetLossRate (%) (audio's when there is no video)
//   recv_kbps     <- RTCStats.RecvBitrate (bps) / 1000
//   fps           <- remote video renderFrameRate (receiveFrameRate if absent)
//   freeze_ms     <- delta of remote video totalFreezeTime (s) * 1000
//   audio_stall_ms<- delta of remote audio totalFreezeTime (s) * 1000
//   jitter_ms     <- remote audio/video `jitter` where the SDK version has it, else 0
// An Agora sample is {at, rtc, video, audio} (video/audio: the teacher uid's entries).

/** The contract's stats fields from two Agora samples (null: the teacher's video is off). */
export function agoraInterval(prev, curr) {
  if (!curr.video || !(num(curr.video.receiveBitrate) > 0 || num(curr.video.renderFrameRate) > 0
      || num(curr.video.receiveFrameRate) > 0)) return null;
  const ms = Math.max(1, curr.at - prev.at);
  const v = curr.video; const a = curr.audio || {};
  const pv = prev.video || v; const pa = prev.audio || a;
  const loss = v.packetLossRate ?? a.packetLossRate ?? 0;
  return {
    interval_ms: clamp(Math.round(ms), 100, 60000),
    rtt_ms: round1(clamp(num(curr.rtc && curr.rtc.RTT), 0, 600000)),
    jitter_ms: round1(clamp(Math.max(num(v.jitter), num(a.jitter)), 0, 600000)),
    loss_pct: round1(clamp(num(loss), 0, 100)),
    recv_kbps: round1(Math.max(0, num(curr.rtc && curr.rtc.RecvBitrate)) / 1000),
    fps: round1(clamp(num(v.renderFrameRate ?? v.receiveFrameRate), 0, 240)),
    freeze_ms: Math.round(clamp((num(v.totalFreezeTime) - num(pv.totalFreezeTime)) * 1000, 0, ms)),
    audio_stall_ms: Math.round(clamp((num(a.totalFreezeTime) - num(pa.totalFreezeTime)) * 1000, 0, ms)),
  };
}

/** A stats source on an Agora client: the teacher is `teacherUid`. */
export function agoraSource(client, teacherUid) {
  return {
    async sample(atMs) {
      return {at: atMs, rtc: client.getRTCStats(),
        video: (client.getRemoteVideoStats() || {})[teacherUid] || null,
        audio: (client.getRemoteAudioStats() || {})[teacherUid] || null};
    },
    interval: agoraInterval,
  };
}

// ---------------------------------------------------------------------------------------
// LiveKit (livekit-client): RemoteVideoTrack.receiverStats / RemoteAudioTrack.receiverStats
// (VideoReceiverStats, AudioReceiverStats: webrtc-stats names, jitter in seconds) and the
// round trip of the subscriber's selected candidate pair. A LiveKit sample is
// {at, video, audio, rttMs}; it becomes a webrtc snapshot, so the mapping is the one above
// (LiveKit's audio stats carry no totalSamplesReceived: 48 kHz x totalSamplesDuration).

/** A webrtc snapshot from LiveKit's receiver stats. */
export function snapshotFromLiveKit(sample) {
  const v = sample.video; const a = sample.audio;
  const parts = [v, a].filter(Boolean);
  const sum = (k) => parts.reduce((t, s) => t + Math.max(0, num(s[k])), 0);
  return {
    at: sample.at, rttMs: sample.rttMs ?? null,
    jitterMs: Math.max(0, ...parts.map((s) => num(s.jitter) * 1000)),
    packetsLost: sum('packetsLost'), packetsReceived: sum('packetsReceived'),
    bytesReceived: sum('bytesReceived'),
    video: v ? {fps: typeof v.framesPerSecond === 'number' ? v.framesPerSecond : null,
      framesDecoded: num(v.framesDecoded), freezeS: num(v.totalFreezesDuration)} : null,
    audio: a ? {concealed: num(a.concealedSamples), silent: num(a.silentConcealedSamples),
      total: num(a.totalSamplesReceived) || num(a.totalSamplesDuration) * 48000} : null,
  };
}

/** A stats source on a LiveKit room: the teacher is the participant `teacherIdentity`. */
export function liveKitSource(room, teacherIdentity) {
  return {
    async sample(atMs) {
      const p = room.remoteParticipants ? room.remoteParticipants.get(teacherIdentity) : null;
      const tracks = p ? [...p.trackPublications.values()].map((t) => t.track).filter(Boolean) : [];
      const video = tracks.find((t) => t.kind === 'video');
      const audio = tracks.find((t) => t.kind === 'audio');
      let rttMs = null;
      const pc = room.engine && room.engine.pcManager && room.engine.pcManager.subscriber
        && room.engine.pcManager.subscriber.pc;
      if (pc) rttMs = snapshotFromReport(await pc.getStats(), atMs).rttMs;
      return snapshotFromLiveKit({at: atMs, rttMs, video: video ? video.receiverStats : null,
        audio: audio ? audio.receiverStats : null});
    },
    interval: intervalStats,
  };
}

/** A stats source on an RTCPeerConnection. */
export function peerSource(pc) {
  return {
    async sample(atMs) { return snapshotFromReport(await pc.getStats(), atMs); },
    interval: intervalStats,
  };
}

// ---------------------------------------------------------------------------------------
// Sending: batches, retry with backoff, a small offline buffer, a beacon at the end.

/** Where the family's network is: navigator.connection's type as the contract's `conn`. */
export function connKind(connection) {
  const t = connection && connection.type;
  if (t === 'wifi') return 'wifi';
  if (t === 'ethernet') return 'wired';
  if (t === 'cellular' || t === 'wimax') return 'cellular';
  return 'unknown';
}

/** Sends events to the collector in order; keeps at most `maxBuffer` while it cannot. */
export class Transport {
  constructor({endpoint, token, fetch: fetchFn, sendBeacon, maxBatch = 20, maxBuffer = 300,
    baseDelayMs = 1000, maxDelayMs = 30000, setTimeout: st, clearTimeout: ct, random = Math.random,
    onError = () => {}}) {
    this.url = endpoint.replace(/\/+$/, '') + '/v1/events';
    this.token = token;
    this.fetch = fetchFn || globalThis.fetch.bind(globalThis);
    this.sendBeacon = sendBeacon || (globalThis.navigator && navigator.sendBeacon
      ? navigator.sendBeacon.bind(navigator) : null);
    this.maxBatch = maxBatch; this.maxBuffer = maxBuffer;
    this.baseDelayMs = baseDelayMs; this.maxDelayMs = maxDelayMs;
    this.setTimeout = st || globalThis.setTimeout.bind(globalThis);
    this.clearTimeout = ct || globalThis.clearTimeout.bind(globalThis);
    this.random = random; this.onError = onError;
    this.queue = []; this.dropped = 0; this.sent = 0; this.bytes = 0;
    this.failures = 0; this.inFlight = null; this.timer = null; this.closed = false;
  }

  /** Queue one event (the oldest is dropped beyond maxBuffer). */
  push(event) {
    if (this.closed) return;
    this.queue.push(event);
    while (this.queue.length > this.maxBuffer) { this.queue.shift(); this.dropped += 1; }
  }

  /** Send what is queued, one batch after another, unless waiting out a backoff. */
  flush() {
    if (this.timer || this.closed) return Promise.resolve();
    if (!this.inFlight) {
      this.inFlight = this._drain().finally(() => {
        this.inFlight = null;
        if (this.queue.length && !this.timer && !this.closed) this.flush(); // pushed meanwhile
      });
    }
    return this.inFlight;
  }

  /** Resolves once nothing is being sent (a backoff may still be pending). */
  async settled() {
    while (this.inFlight) await this.inFlight;
  }

  async _drain() {
    while (this.queue.length && !this.closed) {
      const batch = this.queue.slice(0, this.maxBatch);
      const body = JSON.stringify(batch);
      let status = 0; let retryAfter = 0;
      try {
        const r = await this.fetch(this.url, {method: 'POST', body, keepalive: body.length < 60000,
          headers: {'content-type': 'application/json', authorization: `Bearer ${this.token}`}});
        status = r.status;
        retryAfter = Number(r.headers && r.headers.get ? r.headers.get('retry-after') : 0) || 0;
      } catch (err) {
        status = 0;
      }
      if (status === 202 || (status >= 400 && status < 500 && status !== 408 && status !== 429)) {
        // Accepted, or refused for good (bad token, bad events: sending again cannot help).
        this.queue.splice(0, batch.length);
        if (status === 202) { this.sent += batch.length; this.bytes += body.length; }
        else this.onError({status, events: batch.length});
        this.failures = 0;
        continue;
      }
      this.failures += 1;
      const backoff = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (this.failures - 1));
      const delay = Math.max(retryAfter * 1000, backoff * (0.8 + 0.4 * this.random()));
      this.timer = this.setTimeout(() => { this.timer = null; this.flush(); }, delay);
      return;
    }
  }

  /** Everything queued (plus `last`) in one beacon (text/plain NDJSON); false if impossible. */
  beacon(last) {
    if (last) this.push(last);
    this.closed = true;
    if (this.timer) { this.clearTimeout(this.timer); this.timer = null; }
    if (!this.sendBeacon || !this.queue.length) return false;
    const body = this.queue.map((e) => JSON.stringify(e)).join('\n');
    const url = `${this.url}?token=${encodeURIComponent(this.token)}`;
    const ok = this.sendBeacon(url, new Blob([body], {type: 'text/plain'}));
    if (ok) { this.sent += this.queue.length; this.bytes += body.length; this.queue = []; }
    return ok;
  }
}

// ---------------------------------------------------------------------------------------
// The session: join, stats every 2 s, heartbeat, reconnect, disconnect, leave.

/** Watches one class session through a stats `source`; see attach() for the options. */
export class Session {
  constructor(source, opts, env = {}) {
    this.source = source;
    this.opts = opts;
    this.now = env.now || (() => Date.now());
    this.setInterval = env.setInterval || globalThis.setInterval.bind(globalThis);
    this.clearInterval = env.clearInterval || globalThis.clearInterval.bind(globalThis);
    this.transport = env.transport || new Transport({endpoint: opts.endpoint, token: opts.token,
      ...(opts.transport || {}), ...(env.transportEnv || {})});
    this.ids = {session_id: opts.session_id, student_id: opts.student_id,
      classroom_id: opts.classroom_id};
    this.prev = null; this.attempt = 0; this.down = false; this.ended = false;
    this.timer = null; this.lastCost = 0; this.rounds = 0; this.costMs = 0;
  }

  event(type, extra = {}) {
    return {v: 1, type, ts: Math.round(this.now()), ...this.ids, ...extra};
  }

  /** A one-tap fix was applied: its name and time ride on the next stats or heartbeat event
   *  (`remedy`, `remedy_at`: extra fields the telemetry contract allows and ignores). */
  markRemedy(name) {
    this.remedy = {remedy: name, remedy_at: Math.round(this.now())};
  }

  send(type, extra) {
    if (this.ended) return;
    this.transport.push(this.event(type, extra));
    this.transport.flush();
  }

  /** Send `join` and start sampling every `intervalMs`. */
  start() {
    const o = this.opts;
    const net = o.network || {};
    const conn = net.conn || connKind(globalThis.navigator && navigator.connection);
    this.send('join', {
      client: {app_version: String((o.device || {}).app_version || 'unknown'),
        os: String((o.device || {}).os || 'unknown'), device: (o.device || {}).device || 'pc'},
      network: {conn, isp: String(net.isp || ''), region: String(net.region || ''),
        edge: String(net.edge || '')},
      ...(o.lesson ? {lesson: o.lesson} : {}),
    });
    this.timer = this.setInterval(() => { this.tick(); }, o.intervalMs || INTERVAL_MS);
    return this;
  }

  /** One sampling round: stats (or a heartbeat without media); nothing while media is down. */
  async tick() {
    if (this.ended || this.down) return;
    const t0 = globalThis.performance ? performance.now() : 0;
    const snap = await this.source.sample(this.now());
    this.lastCost = (globalThis.performance ? performance.now() : 0) - t0;
    this.rounds += 1; this.costMs += this.lastCost; // the SDK's own time in the page
    const prev = this.prev; this.prev = snap;
    if (!prev) return;
    const fields = this.source.interval(prev, snap);
    const mark = this.remedy || {}; this.remedy = null;
    if (fields) this.send('stats', {...fields, ...mark}); else this.send('heartbeat', mark);
  }

  /** A connection state: reconnect attempts while disconnected, ok when back, disconnect on failed. */
  onState(state) {
    if (this.ended) return;
    if (state === 'disconnected') {
      this.down = true; this.attempt += 1;
      this.send('reconnect', {attempt: this.attempt, ok: false});
    } else if (state === 'connected' && this.down) {
      this.down = false; this.prev = null;
      this.send('reconnect', {attempt: Math.max(1, this.attempt), ok: true});
      this.attempt = 0;
    } else if (state === 'failed' || state === 'closed') {
      if (state === 'failed') this.send('disconnect', {reason: 'network'});
      this.stop();
    }
  }

  /** Stop sampling (no more events). */
  stop() {
    if (this.timer) { this.clearInterval(this.timer); this.timer = null; }
  }

  /** The student left: `leave` by beacon (what is still queued goes with it). */
  leave() {
    if (this.ended) return false;
    this.stop();
    const ok = this.transport.beacon(this.event('leave'));
    this.ended = true;
    return ok;
  }
}

function wireLeave(session) {
  if (typeof addEventListener !== 'function') return;
  const onHide = () => { session.leave(); };
  addEventListener('pagehide', onHide);
  return onHide;
}

/** Watch an RTCPeerConnection: options endpoint, token, session_id, student_id,
 *  classroom_id, device {app_version, os, device}, network {isp, region, edge[, conn]},
 *  lesson?, intervalMs? (2000), transport? ({maxBatch, maxBuffer, ...}). */
export function attach(pc, opts) {
  const session = new Session(peerSource(pc), opts).start();
  pc.addEventListener('connectionstatechange', () => session.onState(pc.connectionState));
  wireLeave(session);
  return session;
}

/** Watch an Agora Web SDK client (opts as attach(), plus teacherUid). */
export function attachAgora(client, opts) {
  const session = new Session(agoraSource(client, opts.teacherUid), opts).start();
  client.on('connection-state-change', (state) => {
    session.onState({DISCONNECTED: 'failed', RECONNECTING: 'disconnected', CONNECTED: 'connected'}[state] || '');
  });
  wireLeave(session);
  return session;
}

/** Watch a LiveKit room (opts as attach(), plus teacherIdentity). */
export function attachLiveKit(room, opts) {
  const session = new Session(liveKitSource(room, opts.teacherIdentity), opts).start();
  room.on('reconnecting', () => session.onState('disconnected'));
  room.on('reconnected', () => session.onState('connected'));
  room.on('disconnected', () => session.onState('failed'));
  wireLeave(session);
  return session;
}

// ---------------------------------------------------------------------------------------
// A fix in one tap: a lighter picture. The family's downlink is short, so every video
// sender of this peer connection sends less (RTCRtpSender.setParameters: a lower
// maxBitrate, the resolution scaled down), and, on Agora, the teacher's stream falls back
// to its low-quality stream. An app whose downlink is fed by another peer's sender passes
// its own `onRemedy` to chat() (e.g. it asks that sender through its signalling).

export const LIGHTER = {maxBitrate: 250000, scaleResolutionDownBy: 2};

/** Lower every video sender of `pc`; returns the encodings as set (for the app's log). */
export async function lighterPicture(pc, {maxBitrate = LIGHTER.maxBitrate,
  scaleResolutionDownBy = LIGHTER.scaleResolutionDownBy} = {}) {
  const applied = [];
  for (const sender of pc.getSenders()) {
    if (!sender.track || sender.track.kind !== 'video') continue;
    const params = sender.getParameters();
    if (!params.encodings || params.encodings.length === 0) params.encodings = [{}];
    for (const enc of params.encodings) {
      enc.maxBitrate = Math.min(enc.maxBitrate || Infinity, maxBitrate);
      enc.scaleResolutionDownBy = Math.max(enc.scaleResolutionDownBy || 1, scaleResolutionDownBy);
    }
    await sender.setParameters(params);
    applied.push(...params.encodings.map((e) => ({maxBitrate: e.maxBitrate,
      scaleResolutionDownBy: e.scaleResolutionDownBy})));
  }
  return applied;
}

/** Agora Web SDK: receive the teacher's low stream, and fall back to it (or audio) on loss. */
export async function agoraLighterPicture(client, teacherUid) {
  await client.setRemoteVideoStreamType(teacherUid, 1); // 1: the low-quality stream
  if (typeof client.setStreamFallbackOption === 'function') {
    await client.setStreamFallbackOption(teacherUid, 2); // 2: low stream, then audio only
  }
  return [{uid: teacherUid, streamType: 1}];
}

// ---------------------------------------------------------------------------------------
// The family's chat bubble, speaking the chat gateway's protocol
// (outreach/channels/chat_gateway.py): connect with ?token=; messages
// {"type": "message", "id", "case_id", "text", "sent_at"} are shown once (an id already
// shown is ignored: delivery is at least once) and acked {"type": "ack", "id"}; a press
// sends {"type": "reply", "id", "text", "in_reply_to"}, sent again after a reconnect until
// the gateway acks it. The reply texts are ones the gateway's intent_of reads
// (tests/monitor/collect/test_sdk_node.py checks them against it). A message with
// `"remedy": "lighter_picture"` shows a third button (when the page gave chat() an
// `onRemedy`); its press applies the fix, then replies with `"intent": "remedy_applied"`.

export const CHAT_TEXT = {
  'zh-CN': {title: '课堂技术支持', help: '请给我打电话', fine: '好了，可以上课了',
    sentHelp: '收到，技术人员会尽快给您打电话。', sentFine: '太好了，祝上课愉快！',
    offline: '正在重新连接…', remedy: '切换到流畅画面',
    sentRemedy: '已切换到流畅画面。如果一分钟后还卡，请点“请给我打电话”。'},
  en: {title: 'Class support', help: 'Please call me', fine: 'It works again',
    sentHelp: 'Thank you, a technician will call you shortly.', sentFine: 'Great, enjoy the class!',
    offline: 'Reconnecting…', remedy: 'Switch to a lighter picture',
    sentRemedy: 'Switched to a lighter picture. Still stuck in a minute? Tap "Please call me".'},
};

/** The chat protocol without the page: connect, show once, ack, replies until acked. */
export class ChatClient {
  constructor({endpoint, token, WebSocket: WS, onMessage = () => {}, onState = () => {},
    setTimeout: st, random = Math.random, baseDelayMs = 500, maxDelayMs = 15000, maxSeen = 500}) {
    const sep = endpoint.includes('?') ? '&' : '?';
    this.url = `${endpoint}${sep}token=${encodeURIComponent(token)}`;
    this.WS = WS || globalThis.WebSocket;
    this.onMessage = onMessage; this.onState = onState;
    this.setTimeout = st || globalThis.setTimeout.bind(globalThis);
    this.random = random; this.baseDelayMs = baseDelayMs; this.maxDelayMs = maxDelayMs;
    this.maxSeen = maxSeen;
    this.seen = new Set(); this.pending = new Map(); this.failures = 0;
    this.ws = null; this.closed = false; this.counter = 0;
  }

  /** Open the socket (and again after every drop, with backoff). */
  connect() {
    if (this.closed) return;
    const ws = new this.WS(this.url);
    this.ws = ws;
    ws.onopen = () => {
      this.failures = 0; this.onState('open');
      for (const frame of this.pending.values()) ws.send(JSON.stringify(frame));
    };
    ws.onmessage = (e) => this.receive(e.data);
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null; this.onState('closed');
      if (this.closed) return;
      this.failures += 1;
      const delay = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (this.failures - 1));
      this.setTimeout(() => this.connect(), delay * (0.8 + 0.4 * this.random()));
    };
  }

  /** One frame from the gateway. */
  receive(data) {
    let frame;
    try { frame = JSON.parse(data); } catch (err) { return; }
    if (frame.type === 'message' && frame.id) {
      this.send({type: 'ack', id: frame.id});
      if (this.seen.has(frame.id)) return;
      this.seen.add(frame.id);
      if (this.seen.size > this.maxSeen) this.seen.delete(this.seen.values().next().value);
      this.onMessage(frame);
    } else if (frame.type === 'ack' && frame.id) {
      this.pending.delete(frame.id);
    }
  }

  /** Send a family's reply to message `inReplyTo` (kept until the gateway acks it). */
  reply(text, inReplyTo, intent) {
    this.counter += 1;
    const id = `r-${Date.now().toString(36)}-${this.counter}-${Math.floor(this.random() * 1e9).toString(36)}`;
    const frame = {type: 'reply', id, text, ...(inReplyTo ? {in_reply_to: inReplyTo} : {}),
      ...(intent ? {intent} : {})};
    this.pending.set(id, frame);
    this.send(frame);
    return id;
  }

  send(frame) {
    if (this.ws && this.ws.readyState === 1) this.ws.send(JSON.stringify(frame));
  }

  /** Stop for good. */
  close() {
    this.closed = true;
    if (this.ws) this.ws.close();
  }
}

const BUBBLE_CSS = `
.fc-bubble{position:fixed;right:24px;bottom:24px;max-width:420px;background:#fff;color:#111;
 border-radius:16px;box-shadow:0 6px 30px rgba(0,0,0,.25);padding:20px;font:22px/1.45 system-ui,
 "PingFang SC","Microsoft YaHei",sans-serif;z-index:2147483000}
.fc-bubble h2{font-size:20px;margin:0 0 8px;color:#555}
.fc-bubble .fc-text{font-size:24px;margin:0 0 16px;white-space:pre-wrap}
.fc-bubble button{display:block;width:100%;font-size:24px;padding:16px;margin:10px 0 0;
 border:0;border-radius:12px;cursor:pointer;color:#fff}
.fc-bubble .fc-help{background:#c0392b}.fc-bubble .fc-fine{background:#1e8449}
.fc-bubble .fc-remedy{background:#1f618d}
.fc-bubble [hidden]{display:none}
.fc-bubble .fc-note{font-size:20px;color:#333;margin-top:12px}
.fc-bubble .fc-state{font-size:16px;color:#888}`;

/** The family's in-app bubble: FirstCall.chat({endpoint, token, lang, container?,
 *  onRemedy?, session?}); onRemedy() applies a one-tap fix (e.g. () => lighterPicture(pc)),
 *  session (from attach()) reports it on the next telemetry event. */
export function chat({endpoint, token, lang = 'zh-CN', container, WebSocket: WS, onRemedy,
  session}) {
  const words = CHAT_TEXT[lang] || CHAT_TEXT['zh-CN'];
  const doc = globalThis.document;
  const host = container || doc.body;
  if (!doc.getElementById('fc-bubble-css')) {
    const style = doc.createElement('style');
    style.id = 'fc-bubble-css'; style.textContent = BUBBLE_CSS;
    doc.head.appendChild(style);
  }
  const bubble = doc.createElement('div');
  bubble.className = 'fc-bubble'; bubble.hidden = true;
  bubble.setAttribute('role', 'alertdialog'); bubble.setAttribute('lang', lang);
  const title = doc.createElement('h2'); title.textContent = words.title;
  const text = doc.createElement('p'); text.className = 'fc-text';
  const help = doc.createElement('button'); help.className = 'fc-help'; help.textContent = words.help;
  const fine = doc.createElement('button'); fine.className = 'fc-fine'; fine.textContent = words.fine;
  const note = doc.createElement('p'); note.className = 'fc-note'; note.hidden = true;
  const state = doc.createElement('p'); state.className = 'fc-state'; state.hidden = true;
  state.textContent = words.offline;
  const remedy = doc.createElement('button'); remedy.className = 'fc-remedy';
  remedy.textContent = words.remedy; remedy.hidden = true;
  bubble.append(title, text, remedy, help, fine, note, state);
  host.appendChild(bubble);
  let current = null; let offer = null;
  const client = new ChatClient({endpoint, token, WebSocket: WS,
    onMessage: (frame) => {
      current = frame.id; text.textContent = frame.text;
      offer = frame.remedy === 'lighter_picture' && onRemedy ? frame.remedy : null;
      remedy.hidden = !offer;
      help.hidden = false; fine.hidden = false; note.hidden = true; bubble.hidden = false;
    },
    onState: (s) => { state.hidden = s === 'open'; }});
  const answer = (words_, said) => {
    client.reply(words_, current);
    help.hidden = true; fine.hidden = true; remedy.hidden = true; offer = null;
    note.textContent = said; note.hidden = false;
  };
  remedy.addEventListener('click', async () => {
    const name = offer; const to = current;
    if (!name) return;
    remedy.hidden = true; offer = null;
    try { await onRemedy(name); } catch (err) { remedy.hidden = false; offer = name; return; }
    if (session) session.markRemedy(name);
    client.reply(words.remedy, to, 'remedy_applied');
    note.textContent = words.sentRemedy; note.hidden = false;
  });
  help.addEventListener('click', () => answer(words.help, words.sentHelp));
  fine.addEventListener('click', () => answer(words.fine, words.sentFine));
  client.connect();
  return {client, element: bubble, close: () => { client.close(); bubble.remove(); }};
}
