// Senim operator console: the red lamp (with a sound), consultant calls from the service
// guides (with another sound and an "On my way" button) and live queue rows, fed by Server-Sent
// Events from /console/events. Everything works without it except the live parts.
"use strict";
(() => {
  // The page's texts in the operator's language (the layout's <script id="i18n">).
  const T = (() => {
    try { return JSON.parse(document.getElementById("i18n").textContent); } catch (e) { return {}; }
  })();
  function t(key, ...args) {
    let text = typeof T[key] === "string" ? T[key] : key;
    args.forEach((a, i) => { text = text.split("{" + i + "}").join(String(a)); });
    return text;
  }
  // Bar widths (the guides' figures) come as data-width: the page's CSP allows no style="".
  document.querySelectorAll(".bar[data-width]").forEach((bar) => {
    bar.style.width = Math.min(100, Number(bar.dataset.width) || 0) + "%";
  });
  const lamp = document.getElementById("lamp");
  const away = document.getElementById("away");
  const band = document.getElementById("consultants");
  const csrf = document.body.dataset.csrf || "";
  const pageLang = document.documentElement.lang || "en";
  const soundButton = document.getElementById("sound");
  let soundOn = localStorage.getItem("senim-sound") !== "off";
  let present = [];      // [{kiosk_id, site, journey, elapsed_secs}]
  let receivedAt = 0;    // performance.now() when `present` arrived
  let open = false;
  let audio = null;
  let calls = [];        // [{kiosk_id, site, service_id, title, step, elapsed_secs}]
  let callsAt = 0;       // performance.now() when `calls` arrived

  function drawSoundButton() {
    if (!soundButton) return;
    soundButton.textContent = soundOn ? t("sound_on") : t("sound_off");
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

  // The lamp falls (880 → 660 Hz); a consultant call rises in three short notes, so staff on
  // the floor can tell the two apart without looking.
  const LAMP_TONES = [[0, 880], [0.25, 660]];
  const CONSULTANT_TONES = [[0, 523], [0.18, 659], [0.36, 784]];

  function beep(tones = LAMP_TONES) {
    try {
      audio = audio || new AudioContext();
      if (audio.state === "suspended") audio.resume();
      const t = audio.currentTime;
      for (const [start, freq] of tones) {
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
    return j === "appeal" ? t("journey_appeal") : j === "guide" ? t("journey_guide") : t("journey_other");
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
      title.textContent = present.length === 1 ? t("lamp_one") : t("lamp_many", present.length);
      lamp.append(bulb, title);
      for (const p of present) {
        const who = document.createElement("span");
        who.className = "who";
        who.dataset.kiosk = p.kiosk_id;
        const timer = document.createElement("span");
        timer.className = "timer";
        timer.textContent = t("for_time", clock(p.elapsed_secs + extra));
        who.append(p.site + " · " + p.kiosk_id + " · " + journeyText(p.journey) + " · ", timer);
        lamp.append(who);
      }
    } else {
      lamp.hidden = true;
      lamp.replaceChildren();
    }
    if (away) {
      if (present.length > 0 && !open) {
        away.hidden = false;
        away.textContent = t("away", present.map((p) => p.site + " (" + p.kiosk_id + ")").join(", "));
      } else {
        away.hidden = true;
      }
    }
    document.title = (present.length > 0 && open ? "● " : "") + document.title.replace(/^● /, "");
  }

  function stepText(step) {
    return step === 0 ? t("step_overview") : t("step_n", step);
  }

  async function take(kiosk, button) {
    button.disabled = true;
    button.textContent = t("telling_others");
    let status = 0;
    try {
      const response = await fetch("/console/consultant/" + encodeURIComponent(kiosk) + "/taken", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ csrf }),
      });
      status = response.status;
    } catch (e) { /* no network: say so below */ }
    if (status === 204 || status === 404) {
      // Taken now, by this person or just before by another: gone for everyone.
      calls = calls.filter((c) => c.kiosk_id !== kiosk);
      drawCalls();
    } else {
      button.disabled = false;
      button.textContent = status === 403 ? t("reload_then_go") : t("not_sent");
    }
  }

  // Consultant calls are for centre staff on the floor, so they show at any hour.
  function drawCalls() {
    if (!band) return;
    const extra = Math.floor((performance.now() - callsAt) / 1000);
    if (calls.length === 0) {
      band.hidden = true;
      band.replaceChildren();
      return;
    }
    band.hidden = false;
    const keep = new Set(calls.map((c) => c.kiosk_id));
    for (const row of [...band.children]) {
      if (!keep.has(row.dataset.kiosk)) row.remove();
    }
    for (const c of calls) {
      let row = band.querySelector('[data-kiosk="' + CSS.escape(c.kiosk_id) + '"]');
      if (!row) {
        row = document.createElement("div");
        row.className = "call";
        row.dataset.kiosk = c.kiosk_id;
        const what = document.createElement("span");
        what.className = "what";
        const text = document.createElement("span");
        text.className = "text";
        const timer = document.createElement("span");
        timer.className = "timer";
        what.append(text, timer);
        const button = document.createElement("button");
        button.type = "button";
        button.className = "take";
        button.textContent = t("on_my_way");
        button.addEventListener("click", () => take(c.kiosk_id, button));
        row.append(what, button);
        band.append(row);
      }
      row.querySelector(".text").textContent =
        t("consultant", c.kiosk_id, c.site, (c.titles && c.titles[pageLang]) || c.title, stepText(c.step)) + " ";
      row.querySelector(".timer").textContent = t("for_time", clock(c.elapsed_secs + extra));
    }
  }

  setInterval(draw, 1000);
  setInterval(drawCalls, 1000);
  // A ringing live call or a call in progress (call.js) has the floor: the lamp keeps quiet.
  const callHasFloor = () => document.body.classList.contains("has-ringing") ||
    document.body.classList.contains("in-call");
  setInterval(() => { if (soundOn && open && present.length > 0 && !callHasFloor()) beep(); }, 2500);
  setInterval(() => { if (soundOn && calls.length > 0) beep(CONSULTANT_TONES); }, 6000);

  // The queue page (#queue) is told which appeals changed: it fetches just their rows, as its
  // own view and filters show them, and puts each in its place (or drops it if it left the
  // view). Without ids (the server does not know which) it reloads the list.
  async function reloadQueue() {
    const response = await fetch(location.href, { credentials: "same-origin" });
    if (!response.ok) return;
    const doc = new DOMParser().parseFromString(await response.text(), "text/html");
    for (const sel of ["#queue", "#queue-summary", "nav.pager", "nav.tabs"]) {
      const here = document.querySelector(sel);
      const fresh = doc.querySelector(sel);
      if (here && fresh) here.replaceWith(fresh);
    }
  }

  // A row's place in the order: urgency views go by `due~created~id` ascending, the others
  // by `created~id` descending.
  function before(a, b, order) {
    if (order === "asc") return a < b;
    const tail = (k) => k.split("~").slice(1).join("~");
    return tail(a) > tail(b);
  }

  function place(tbody, row, queue) {
    const order = queue.dataset.order;
    const rows = [...tbody.querySelectorAll("tr[data-id]")];
    const next = rows.find((r) => before(row.dataset.key, r.dataset.key, order));
    // Before this page's first row or after its last: it belongs to another page.
    if (next && next === rows[0] && queue.dataset.prev === "true") return false;
    if (!next && rows.length > 0 && queue.dataset.next === "true") return false;
    tbody.insertBefore(row, next || null);
    return true;
  }

  function drawFlagged(count) {
    const tab = document.getElementById("tab-anticorruption");
    if (!tab || count === undefined) return;
    let badge = document.getElementById("flagged-new");
    if (Number(count) > 0) {
      if (!badge) {
        badge = document.createElement("span");
        badge.id = "flagged-new";
        badge.className = "count";
        tab.append(" ", badge);
      }
      badge.textContent = count;
    } else if (badge) {
      badge.remove();
    }
  }

  async function updateQueue(ids) {
    const queue = document.getElementById("queue");
    if (!queue) return;
    if (!Array.isArray(ids)) return reloadQueue();
    if (ids.length === 0) return;
    const params = new URLSearchParams(queue.dataset.params || "");
    params.set("ids", ids.join(","));
    const response = await fetch("/console/queue/rows?" + params, { credentials: "same-origin" });
    if (!response.ok) return;
    const doc = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = doc.querySelector("tbody");
    if (!fresh) return;
    drawFlagged(fresh.dataset.flaggedNew);
    const tbody = document.getElementById("queue-rows");
    for (const row of [...fresh.querySelectorAll("tr[data-id]")]) {
      const old = tbody && tbody.querySelector('tr[data-id="' + CSS.escape(row.dataset.id) + '"]');
      if (row.hasAttribute("data-gone")) {
        if (old) old.remove();
        continue;
      }
      // An empty page has no table yet: draw it whole.
      if (!tbody) return reloadQueue();
      if (old) old.remove();
      if (place(tbody, row, queue)) row.classList.add("fresh-row");
    }
  }

  function connect() {
    const source = new EventSource("/console/events");
    // Connected: changes from now on arrive (tests wait for this).
    source.addEventListener("open", () => { document.body.dataset.live = "connected"; });
    source.addEventListener("lamp", (e) => {
      const data = JSON.parse(e.data);
      const wasLit = open && present.length > 0;
      present = data.present;
      open = data.open;
      receivedAt = performance.now();
      draw();
      if (!wasLit && open && present.length > 0 && soundOn) beep();
    });
    source.addEventListener("consultant", (e) => {
      const data = JSON.parse(e.data);
      const known = new Set(calls.map((c) => c.kiosk_id));
      calls = data.calls;
      callsAt = performance.now();
      drawCalls();
      if (soundOn && calls.some((c) => !known.has(c.kiosk_id))) beep(CONSULTANT_TONES);
    });
    source.addEventListener("appeals", (e) => {
      let ids = null;
      try { ids = JSON.parse(e.data).ids; } catch (err) { /* not JSON: reload */ }
      updateQueue(ids);
    });
    source.onerror = () => {
      // A dead session cannot stream: look at the page again (it redirects to sign-in).
      if (source.readyState === EventSource.CLOSED) setTimeout(() => location.reload(), 3000);
    };
    // A page kept in the back/forward cache must not hold its stream open: over HTTP/1.1 a
    // browser has six connections to the server, and held streams stall every later page.
    window.addEventListener("pagehide", () => source.close(), { once: true });
  }
  window.addEventListener("pageshow", (e) => { if (e.persisted) connect(); });
  connect();
})();
