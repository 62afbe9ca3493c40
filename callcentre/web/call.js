// Senim operator console: live video calls from the kiosks. The operator marks themselves
// Available or Away; a kiosk's call rings on every console (site, kiosk, topic, masked IIN,
// waiting time, a ring tone) in place of the red lamp; the first to press Answer takes it and
// the others see who did. In the call: the patient large, the operator's own camera small
// (getUserMedia + RTCPeerConnection; the kiosk sends the offer, this page answers, candidates
// trickle both ways through /console/call), the IIN with a logged reveal, notes, mute, hang up
// and the outcome, saved on the appeal the call stands as. Messages: callcentre/signalling.md.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const band = $("ringing");
  const panel = $("call");
  const toggle = $("availability");
  const signal = $("signal");
  if (!band || !panel || !toggle) return;
  const csrf = document.body.dataset.csrf || "";
  // The page's texts in the operator's language (the layout's <script id="i18n">).
  const T = (() => {
    try { return JSON.parse(document.getElementById("i18n").textContent); } catch (e) { return {}; }
  })();
  function t(key, ...args) {
    let text = typeof T[key] === "string" ? T[key] : key;
    args.forEach((a, i) => { text = text.split("{" + i + "}").join(String(a)); });
    return text;
  }
  const TOPICS = T.topics || {};
  const ENDED = {
    hung_up: t("ended_hung_up"),
    unanswered: t("ended_unanswered"),
    lost: t("ended_lost"),
    error: t("ended_error"),
  };
  const SIGNAL_ERRORS = T.signal_errors || {};
  // A refusal of the call service in the operator's language (its English text if unknown).
  const signalError = (m) => SIGNAL_ERRORS[m.code] || m.message;

  let ws = null;
  let retry = 1000;
  // What the operator chose in this tab; closing the tab forgets it (they are away then).
  let wantAvailable = sessionStorage.getItem("senim-available") === "1";
  let available = false;
  const ringing = new Map(); // call_id → {data, at, taken, row}
  let current = null;        // the call on screen
  let audio = null;

  function send(message) {
    if (ws && ws.readyState === WebSocket.OPEN) {
      ws.send(JSON.stringify(message));
      return true;
    }
    return false;
  }

  function clock(secs) {
    const m = Math.floor(secs / 60), s = secs % 60;
    return m + ":" + String(s).padStart(2, "0");
  }

  function soundOn() { return localStorage.getItem("senim-sound") !== "off"; }

  // A soft two-tone ring (440 + 480 Hz, twice), distinct from the lamp and consultant tones.
  function ring() {
    try {
      audio = audio || new AudioContext();
      if (audio.state === "suspended") audio.resume();
      const t = audio.currentTime;
      for (const start of [0, 0.5]) {
        const gain = audio.createGain();
        gain.gain.setValueAtTime(0.0001, t + start);
        gain.gain.exponentialRampToValueAtTime(0.12, t + start + 0.03);
        gain.gain.setValueAtTime(0.12, t + start + 0.35);
        gain.gain.exponentialRampToValueAtTime(0.0001, t + start + 0.4);
        gain.connect(audio.destination);
        for (const freq of [440, 480]) {
          const osc = audio.createOscillator();
          osc.frequency.value = freq;
          osc.connect(gain);
          osc.start(t + start);
          osc.stop(t + start + 0.42);
        }
      }
    } catch (e) { /* no audio device: the band still shows */ }
  }

  function say(text, isError) {
    if (!signal) return;
    signal.hidden = !text;
    signal.textContent = text || "";
    signal.classList.toggle("error", Boolean(isError));
  }

  // ---- Availability ----
  function drawAvailability() {
    toggle.textContent = available ? t("available") : t("away_button");
    toggle.setAttribute("aria-pressed", String(available));
    toggle.classList.toggle("on", available);
    drawRinging();
  }
  // Signing out makes the operator away, also when they sign in again in this tab.
  const signOut = document.querySelector('form[action="/console/logout"]');
  if (signOut) signOut.addEventListener("submit", () => sessionStorage.removeItem("senim-available"));
  toggle.addEventListener("click", () => {
    wantAvailable = !available;
    sessionStorage.setItem("senim-available", wantAvailable ? "1" : "0");
    if (!send({ type: "set_available", available: wantAvailable })) {
      say(t("not_connected"), true);
    }
  });

  // ---- Ringing calls ----
  function waiting(r) {
    const since = Date.parse(r.data.waiting_since);
    return Math.max(0, Math.floor((Date.now() - since) / 1000));
  }

  function drawRinging() {
    const now = performance.now();
    for (const [id, r] of ringing) {
      if (r.taken && now > r.until) ringing.delete(id);
    }
    const open = [...ringing.values()].filter((r) => !r.taken);
    document.body.classList.toggle("has-ringing", open.length > 0);
    if (ringing.size === 0) {
      band.hidden = true;
      band.replaceChildren();
      return;
    }
    band.hidden = false;
    for (const row of [...band.children]) {
      if (!ringing.has(row.dataset.call)) row.remove();
    }
    for (const [id, r] of ringing) {
      if (!r.row) {
        const row = document.createElement("div");
        row.className = "ring";
        row.dataset.call = id;
        const bell = document.createElement("span");
        bell.className = "bell";
        bell.setAttribute("aria-hidden", "true");
        const what = document.createElement("span");
        what.className = "what";
        const title = document.createElement("strong");
        title.className = "site";
        const detail = document.createElement("span");
        detail.className = "detail";
        what.append(title, detail);
        const timer = document.createElement("span");
        timer.className = "timer";
        const action = document.createElement("span");
        action.className = "action";
        row.append(bell, what, timer, action);
        band.append(row);
        r.row = row;
      }
      const d = r.data;
      r.row.querySelector(".site").textContent = t("call_from", d.site);
      const parts = [t("kiosk_n", d.kiosk_id), TOPICS[d.topic] || d.topic];
      parts.push(d.iin_masked ? t("iin_n", d.iin_masked) : t("not_identified"));
      if (d.test) parts.push(t("test_call"));
      r.row.querySelector(".detail").textContent = parts.join(" · ");
      r.row.querySelector(".timer").textContent = r.taken ? "" : t("waiting", clock(waiting(r)));
      r.row.classList.toggle("taken", Boolean(r.taken));
      const action = r.row.querySelector(".action");
      if (r.taken) {
        if (action.dataset.state !== "taken") {
          action.dataset.state = "taken";
          const note = document.createElement("span");
          note.className = "taken-by";
          note.textContent = r.taken;
          action.replaceChildren(note);
        }
      } else {
        const mode = !available ? "away" : current ? "busy" : "answer";
        if (action.dataset.state === mode) continue;
        action.dataset.state = mode;
        const button = document.createElement("button");
        button.type = "button";
        button.className = "answer";
        button.textContent = t("answer");
        if (mode !== "answer") {
          button.disabled = true;
          button.title = mode === "away" ? t("mark_available") : t("close_call_first");
        }
        button.addEventListener("click", () => {
          button.disabled = true;
          button.textContent = t("answering");
          if (!send({ type: "answer", call_id: id })) {
            button.disabled = false;
            button.textContent = t("not_connected_retry");
          }
        });
        const hint = document.createElement("small");
        hint.className = "hint";
        hint.textContent = mode === "away" ? t("you_are_away") : mode === "busy" ? t("you_are_on_a_call") : "";
        action.replaceChildren(button, hint);
      }
    }
  }

  // ---- The call ----
  function showError(text) {
    const e = $("call-error");
    e.hidden = !text;
    e.textContent = text || "";
  }

  function openPanel(r, appealId) {
    const d = r.data;
    current = {
      callId: d.call_id, appealId, data: d, pc: null, local: null, media: null,
      candidates: [], ended: false, answeredAt: performance.now(), connected: false,
      dirty: false, muted: false,
    };
    $("call-site").textContent = d.site;
    $("call-kiosk").textContent = d.kiosk_id;
    $("call-topic").textContent = TOPICS[d.topic] || d.topic;
    $("call-test").hidden = !d.test;
    const iin = $("call-iin");
    iin.textContent = d.iin_masked || t("not_given");
    iin.classList.remove("revealed");
    iin.classList.toggle("muted", !d.iin_masked);
    $("call-reveal").hidden = !d.iin_masked;
    const link = $("call-appeal");
    link.textContent = appealId;
    link.href = "/console/appeals/" + encodeURIComponent(appealId);
    $("call-notes").value = "";
    for (const o of document.querySelectorAll("input[name=call-outcome]")) o.checked = false;
    $("call-state").textContent = t("connecting_kiosk");
    $("call-timer").textContent = "0:00";
    $("call-banner").hidden = true;
    $("call-saved").hidden = true;
    showError("");
    $("call-mute").hidden = false;
    $("call-mute").textContent = t("mute");
    $("call-mute").setAttribute("aria-pressed", "false");
    $("call-hangup").hidden = false;
    $("call-close").hidden = true;
    panel.hidden = false;
    panel.classList.remove("over");
    document.body.classList.add("in-call");
  }

  function startCall(r, iceServers, appealId) {
    openPanel(r, appealId);
    const call = current;
    const pc = new RTCPeerConnection({ iceServers: iceServers || [] });
    call.pc = pc;
    window.senimPeer = pc; // for diagnostics (and the end-to-end test's getStats())
    const remote = new MediaStream();
    $("remote-video").srcObject = remote;
    pc.ontrack = (e) => { remote.addTrack(e.track); };
    pc.onicecandidate = (e) => {
      if (call.ended || !e.candidate || !e.candidate.candidate) return;
      send({
        type: "ice_candidate", call_id: call.callId,
        mline_index: e.candidate.sdpMLineIndex || 0, candidate: e.candidate.candidate,
      });
    };
    pc.onconnectionstatechange = () => {
      if (call.ended) return;
      if (pc.connectionState === "connected") {
        call.connected = true;
        $("call-state").textContent = t("on_the_call");
      } else if (pc.connectionState === "disconnected") {
        $("call-state").textContent = t("unsteady");
      } else if (pc.connectionState === "failed") {
        send({ type: "hang_up", call_id: call.callId, reason: "lost" });
        callEnded(call, "lost", t("lost_network"));
      }
    };
    call.media = navigator.mediaDevices.getUserMedia({
      video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: true,
    }).then((stream) => {
      if (call.ended) { stream.getTracks().forEach((t) => t.stop()); return; }
      call.local = stream;
      $("self-video").srcObject = stream;
      for (const track of stream.getTracks()) pc.addTrack(track, stream);
    }).catch((e) => {
      showError(t("camera_failed", e.name));
    });
  }

  async function onOffer(m) {
    const call = current;
    if (!call || call.callId !== m.call_id || call.ended) return;
    try {
      await call.media;
      await call.pc.setRemoteDescription({ type: "offer", sdp: m.sdp });
      for (const c of call.candidates.splice(0)) await addCandidate(call, c);
      await call.pc.setLocalDescription(await call.pc.createAnswer());
      send({ type: "sdp_answer", call_id: call.callId, sdp: call.pc.localDescription.sdp });
    } catch (e) {
      send({ type: "hang_up", call_id: call.callId, reason: "error" });
      callEnded(call, "error", t("offer_failed", e.message));
    }
  }

  async function addCandidate(call, m) {
    try {
      await call.pc.addIceCandidate({ candidate: m.candidate, sdpMLineIndex: m.mline_index });
    } catch (e) {
      console.warn("a candidate from the kiosk was not usable", e);
    }
  }

  function onCandidate(m) {
    const call = current;
    if (!call || call.callId !== m.call_id || call.ended || !m.candidate) return;
    if (call.pc.remoteDescription) addCandidate(call, m);
    else call.candidates.push(m);
  }

  function callEnded(call, reason, text) {
    if (!call || call.ended) return;
    call.ended = true;
    call.endedAt = performance.now();
    if (call.local) call.local.getTracks().forEach((t) => t.stop());
    if (call.pc) call.pc.close();
    const banner = $("call-banner");
    banner.textContent = text || ENDED[reason] || ENDED.error;
    banner.className = "banner " + reason;
    banner.hidden = false;
    $("call-state").textContent = reason === "lost" ? t("call_lost") : t("call_ended");
    panel.classList.add("over");
    $("call-mute").hidden = true;
    $("call-hangup").hidden = true;
    $("call-close").hidden = false;
    document.body.classList.remove("in-call");
    // Whatever was written so far is kept on the appeal at once.
    if (call.dirty) save();
    drawRinging();
  }

  async function post(path, body) {
    try {
      return await fetch(path, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ csrf, ...body }),
      });
    } catch (e) {
      return null;
    }
  }

  function failure(response, what) {
    if (!response) return t("failed_offline", what);
    if (response.status === 403) return t("failed_csrf", what);
    if (response.status === 401 || response.redirected) return t("failed_signin", what);
    return t("failed_status", what, response.status);
  }

  async function save() {
    const call = current;
    if (!call) return;
    const chosen = document.querySelector("input[name=call-outcome]:checked");
    const button = $("call-save");
    button.disabled = true;
    const response = await post("/console/calls/" + encodeURIComponent(call.appealId) + "/outcome", {
      notes: $("call-notes").value, outcome: chosen ? chosen.value : "",
    });
    button.disabled = false;
    if (response && response.status === 204) {
      call.dirty = false;
      showError("");
      const saved = $("call-saved");
      saved.hidden = false;
      saved.textContent = t("saved_on", call.appealId,
        new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }));
    } else {
      showError(failure(response, t("saving")));
    }
  }

  async function reveal() {
    const call = current;
    if (!call) return;
    const response = await post("/console/calls/" + encodeURIComponent(call.appealId) + "/reveal", {});
    if (response && response.ok) {
      const data = await response.json();
      const iin = $("call-iin");
      iin.textContent = data.iin;
      iin.classList.add("revealed");
      $("call-reveal").hidden = true;
    } else if (response && response.status === 404) {
      showError(t("reveal_after"));
    } else {
      showError(failure(response, t("revealing")));
    }
  }

  $("call-save").addEventListener("click", save);
  $("call-reveal").addEventListener("click", reveal);
  $("call-notes").addEventListener("input", () => { if (current) current.dirty = true; });
  for (const o of document.querySelectorAll("input[name=call-outcome]")) {
    o.addEventListener("change", () => { if (current) current.dirty = true; });
  }
  $("call-mute").addEventListener("click", () => {
    const call = current;
    if (!call || !call.local) return;
    call.muted = !call.muted;
    for (const t of call.local.getAudioTracks()) t.enabled = !call.muted;
    $("call-mute").textContent = call.muted ? t("unmute") : t("mute");
    $("call-mute").setAttribute("aria-pressed", String(call.muted));
    $("call-state").textContent = call.muted ? t("on_the_call_muted") : t("on_the_call");
  });
  $("call-hangup").addEventListener("click", () => {
    const call = current;
    if (!call || call.ended) return;
    send({ type: "hang_up", call_id: call.callId, reason: "hung_up" });
    callEnded(call, "hung_up", t("you_hung_up"));
  });
  $("call-close").addEventListener("click", () => {
    if (current && current.dirty &&
        !confirm(t("unsaved_close"))) return;
    current = null;
    panel.hidden = true;
    panel.classList.remove("over");
    $("remote-video").srcObject = null;
    $("self-video").srcObject = null;
    drawRinging();
  });
  window.addEventListener("beforeunload", (e) => {
    if (current && (!current.ended || current.dirty)) e.preventDefault();
  });

  // ---- The signalling socket ----
  function handle(m) {
    switch (m.type) {
      case "availability":
        available = m.available;
        drawAvailability();
        break;
      case "incoming":
        if (!ringing.has(m.call_id)) {
          ringing.set(m.call_id, { data: m, taken: null, row: null });
          if (soundOn() && available && !current) ring();
        }
        drawRinging();
        break;
      case "accepted": {
        const r = ringing.get(m.call_id);
        ringing.delete(m.call_id);
        if (r) startCall(r, m.ice_servers, m.appeal_id);
        drawRinging();
        break;
      }
      case "taken": {
        if (current && current.callId === m.call_id) break;
        const r = ringing.get(m.call_id);
        if (r) {
          r.taken = t("taken_by", m.by);
          r.until = performance.now() + 6000;
          drawRinging();
        }
        break;
      }
      case "sdp_offer": onOffer(m); break;
      case "ice_candidate": onCandidate(m); break;
      case "ended":
        if (current && current.callId === m.call_id) {
          callEnded(current, m.reason);
        } else if (ringing.has(m.call_id)) {
          ringing.delete(m.call_id);
          drawRinging();
        }
        break;
      case "error":
        if (current && !current.ended && (!m.call_id || m.call_id === current.callId)) {
          showError(signalError(m));
        } else if (m.call_id && ringing.has(m.call_id)) {
          const r = ringing.get(m.call_id);
          r.taken = m.code === "already_taken" ? t("answered_first") : signalError(m);
          r.until = performance.now() + 6000;
          drawRinging();
        } else {
          say(signalError(m), true);
        }
        break;
    }
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    ws = new WebSocket(scheme + location.host + "/console/call");
    ws.onopen = () => {
      retry = 1000;
      say("");
      if (wantAvailable) send({ type: "set_available", available: true });
    };
    ws.onmessage = (e) => {
      let m;
      try { m = JSON.parse(e.data); } catch (err) { return; }
      handle(m);
    };
    ws.onclose = () => {
      available = false;
      ringing.clear();
      drawAvailability();
      if (current && !current.ended) {
        callEnded(current, "lost", t("lost_server"));
      }
      say(t("reconnecting"), true);
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 15000);
    };
  }

  setInterval(() => {
    drawRinging();
    if (current && !current.ended) {
      $("call-timer").textContent = clock(Math.floor((performance.now() - current.answeredAt) / 1000));
    }
  }, 1000);
  setInterval(() => {
    if (soundOn() && available && !current && [...ringing.values()].some((r) => !r.taken)) ring();
  }, 3000);

  drawAvailability();
  connect();
})();
