// The answer as this page plays it (the WebSocket transport): audio deltas into the
// player, captions shown when the audio that came with them plays (the words on screen
// are the words heard), and on an interruption the cut, with the truncate that tells
// the server how much of the item was heard. On a WebRTC call the server plays and cuts
// the answer itself: there is no player here, and captions show as they come.
// One per conversation; the page's Player outlives them.

import { RATE } from "./player.js";

const SAMPLES_PER_MS = RATE / 1000;

// PCM16 on the wire is little-endian, as typed arrays are on every platform browsers run on.
function fromBase64(b64) {
  const s = atob(b64);
  const bytes = new Uint8Array(s.length & ~1); // whole samples only
  for (let i = 0; i < bytes.length; i++) bytes[i] = s.charCodeAt(i);
  return bytes.buffer;
}

export class PagePlayback {
  // `player()`: the page's Player, or null (a call: the server plays); `ui`, `debug` and
  // `send` are the page's; `onCut()` runs once playback was stopped.
  constructor(player, { ui, debug, send, onCut }) {
    this.player = player;
    Object.assign(this, { ui, debug, send, onCut });
    this.audioDone = new Set(); // items whose audio has fully arrived
    this.cutItems = new Set(); // items the person interrupted: later audio/text is ignored
    this.received = new Map(); // item_id → samples received
    this.contentIndex = new Map(); // item_id → content_index of its audio part
    this.captions = new Map(); // item_id → [{at, text}] words waiting for their audio
  }

  // response.output_audio.delta
  audio(e) {
    const player = this.player();
    if (this.cutItems.has(e.item_id) || !player) return;
    this.contentIndex.set(e.item_id, e.content_index);
    const pcm = fromBase64(e.delta);
    this.received.set(e.item_id, (this.received.get(e.item_id) || 0) + pcm.byteLength / 2);
    this.debug.receivedMs[e.item_id] = Math.floor(this.received.get(e.item_id) / SAMPLES_PER_MS);
    player.push(e.item_id, pcm);
  }

  // response.output_audio.done
  audioEnded(itemId) {
    this.audioDone.add(itemId);
    const player = this.player();
    if (player) player.end(itemId);
    if (!this.received.get(itemId)) this.reveal(itemId, true); // no audio came: show the words
  }

  // response.output_audio_transcript.delta
  caption(itemId, text) {
    if (this.cutItems.has(itemId)) return;
    if (!this.player()) {
      this.ui.assistantAppend(itemId, text); // the server plays it as it comes
      return;
    }
    if (!this.captions.has(itemId)) this.captions.set(itemId, []);
    this.captions.get(itemId).push({ at: this.received.get(itemId) || 0, text });
    this.reveal(itemId);
  }

  // The player played more of `itemId` (`all`: it is done with it).
  reveal(itemId, all = false) {
    const queue = this.captions.get(itemId);
    if (!queue) return;
    const player = this.player();
    const played = (player && player.played.get(itemId)) || 0;
    while (queue.length && (all || queue[0].at < played)) this.ui.assistantAppend(itemId, queue.shift().text);
  }

  drained(itemId) {
    if (this.audioDone.has(itemId)) this.reveal(itemId, true);
  }

  // Stop playback now and tell the server how much of the item was heard.
  async cut() {
    const player = this.player();
    if (!player) return;
    const r = await player.flush();
    this.onCut();
    const itemId = r.itemId;
    if (!itemId || r.played === 0 || this.cutItems.has(itemId)) return;
    this.debug.items[itemId] = player.playedMs(itemId);
    this.debug.playedMs = player.totalPlayedMs();
    if (r.remaining === 0 && this.audioDone.has(itemId)) {
      this.reveal(itemId, true); // it had finished: nothing was cut
      return;
    }
    this.cutItems.add(itemId);
    this.captions.delete(itemId);
    const truncate = {
      type: "conversation.item.truncate",
      item_id: itemId,
      content_index: this.contentIndex.get(itemId) ?? 0,
      audio_end_ms: player.playedMs(itemId),
    };
    this.send(truncate);
    this.debug.truncations.push({ item_id: itemId, audio_end_ms: truncate.audio_end_ms });
    this.ui.markCut(itemId);
  }

  // response.done: a cancelled answer keeps what was heard of it (once the player has
  // said exactly how much of each item went out); words whose audio never came show.
  responseDone(r) {
    const player = this.player();
    if (r.status === "cancelled" && player) {
      this.cut().then(() => {
        for (const item of r.output || []) {
          if (item.type !== "message") continue;
          if (player.played.get(item.id)) this.ui.markCut(item.id);
          else this.ui.remove(item.id); // nothing of it was heard: it never happened for the person
        }
      });
    }
    for (const item of r.output || []) if (!this.received.get(item.id)) this.reveal(item.id, true);
  }
}
