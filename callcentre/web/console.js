// Senim operator console: the red lamp (with a sound) and live refresh, fed by Server-Sent
// Events from /console/events. Everything works without it except the live parts.
"use strict";
(() => {
  const lamp = document.getElementById("lamp");
  const away = document.getElementById("away");
  const soundButton = document.getElementById("sound");
  let soundOn = localStorage.getItem("senim-sound") !== "off";
  let present = [];      // [{kiosk_id, site, journey, elapsed_secs}]
  let receivedAt = 0;    // performance.now() when `present` arrived
  let open = false;
  let audio = null;

  function drawSoundButton() {
    if (!soundButton) return;
    soundButton.textContent = soundOn ? "Sound: on" : "Sound: off";
    soundButton.setAttribute("aria-pressed", String(soundOn));
  }
  if (soundButton) {
    soundButton.addEventListener("click", () => {
      soundOn = !soundOn;
      localStorage.setItem("senim-sound", soundOn ? "on" : "off");
      if (soundOn && audio) audio.resume();
      drawSoundButton();
    });
  }
  drawSoundButton();

  function beep() {
    try {
      audio = audio || new AudioContext();
      if (audio.state === "suspended") audio.resume();
      const t = audio.currentTime;
      for (const [start, freq] of [[0, 880], [0.25, 660]]) {
        const osc = audio.createOscillator();
        const gain = audio.createGain();
        osc.frequency.value = freq;
        gain.gain.setValueAtTime(0.0001, t + start);
        gain.gain.exponentialRampToValueAtTime(0.3, t + start + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, t + start + 0.2);
        osc.connect(gain).connect(audio.destination);
        osc.start(t + start);
        osc.stop(t + start + 0.22);
      }
    } catch (e) { /* no audio device: the band still shows */ }
  }

  function clock(secs) {
    const m = Math.floor(secs / 60), s = secs % 60;
    return m + ":" + String(s).padStart(2, "0");
  }

  function journeyText(j) {
    return j === "appeal" ? "leaving an appeal" : j === "guide" ? "following a service guide" : "at the terminal";
  }

  function draw() {
    const extra = Math.floor((performance.now() - receivedAt) / 1000);
    if (!lamp) return;
    if (present.length > 0 && open) {
      lamp.hidden = false;
      lamp.replaceChildren();
      const bulb = document.createElement("span");
      bulb.className = "bulb";
      const title = document.createElement("span");
      title.textContent = present.length === 1 ? "A patient is at a kiosk now" : present.length + " patients are at kiosks now";
      lamp.append(bulb, title);
      for (const p of present) {
        const who = document.createElement("span");
        who.className = "who";
        who.dataset.kiosk = p.kiosk_id;
        const timer = document.createElement("span");
        timer.className = "timer";
        timer.textContent = clock(p.elapsed_secs + extra);
        who.append(p.site + " · " + p.kiosk_id + " · " + journeyText(p.journey) + " · for ", timer);
        lamp.append(who);
      }
    } else {
      lamp.hidden = true;
      lamp.replaceChildren();
    }
    if (away) {
      if (present.length > 0 && !open) {
        away.hidden = false;
        away.textContent = "Outside working hours: someone is at " +
          present.map((p) => p.site + " (" + p.kiosk_id + ")").join(", ") +
          ". Their appeal will wait in the queue.";
      } else {
        away.hidden = true;
      }
    }
    document.title = (present.length > 0 && open ? "● " : "") + document.title.replace(/^● /, "");
  }

  setInterval(draw, 1000);
  setInterval(() => { if (soundOn && open && present.length > 0) beep(); }, 2500);

  async function refreshQueue() {
    const queue = document.getElementById("queue");
    if (!queue) return;
    const response = await fetch(location.href, { credentials: "same-origin" });
    if (!response.ok) return;
    const doc = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = doc.getElementById("queue");
    if (fresh) {
      queue.replaceWith(fresh);
      const note = document.getElementById("fresh");
      if (note) note.hidden = false;
    }
  }

  function connect() {
    const source = new EventSource("/console/events");
    source.addEventListener("lamp", (e) => {
      const data = JSON.parse(e.data);
      const wasLit = open && present.length > 0;
      present = data.present;
      open = data.open;
      receivedAt = performance.now();
      draw();
      if (!wasLit && open && present.length > 0 && soundOn) beep();
    });
    source.addEventListener("appeals", () => { refreshQueue(); });
    source.onerror = () => {
      // A dead session cannot stream: look at the page again (it redirects to sign-in).
      if (source.readyState === EventSource.CLOSED) setTimeout(() => location.reload(), 3000);
    };
  }
  connect();
})();
