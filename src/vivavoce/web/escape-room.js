// The escape room's view (the Enigma persona): the door. The server's unlock_door tool
// decides; this only shows its answer: the right code swings the door open (it stays
// open for the session), a wrong one rattles it. `body[data-door]` is "open" or "shut"
// once the lock has been tried.

const $ = (sel) => document.querySelector(sel);

export class EscapeRoom {
  // `debug` is the page's window.vivavoce: doorOpen and doorTries are kept there.
  constructor(debug) {
    this.debug = debug;
    this.rattle = null;
  }

  // The output of an unlock_door call: {"unlocked": true|false, "message": ...}.
  lockAnswered(callId, output) {
    let result;
    try {
      result = JSON.parse(output);
    } catch {
      return; // not the lock's answer (e.g. an error text): nothing to show
    }
    if (!result || typeof result.unlocked !== "boolean") return; // e.g. a cancelled call
    this.debug.doorTries.push({ call_id: callId, unlocked: result.unlocked });
    if (result.unlocked) {
      this.debug.doorOpen = true;
      this.open(result.message);
    } else {
      this.shut();
    }
  }

  open(message) {
    document.body.dataset.door = "open";
    const door = $("#door");
    door.querySelector(".door-message").textContent = message || "The door swings open!";
    $("#door-shut").hidden = true;
    $("#door-close").onclick = () => { door.hidden = true; };
    door.hidden = false;
    $("#door-close").focus();
  }

  shut() {
    if (document.body.dataset.door === "open") return;
    document.body.dataset.door = "shut";
    const notice = $("#door-shut");
    // Restart the rattle even if the last one is still showing.
    notice.hidden = true;
    void notice.offsetWidth;
    notice.hidden = false;
    clearTimeout(this.rattle);
    this.rattle = setTimeout(() => { notice.hidden = true; }, 2600);
  }

  // A new session is a new room with a new code: the door is locked again.
  reset() {
    this.debug.doorOpen = false;
    delete document.body.dataset.door;
    $("#door").hidden = true;
    $("#door-shut").hidden = true;
  }
}
