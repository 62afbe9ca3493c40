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
  const TOPICS = {
    complaint: "Complaint", request: "Request", gratitude: "Gratitude",
    bribe_report: "Report of a bribe demand", other: "Other",
  };
  const ENDED = {
    hung_up: "The patient hung up.",
    unanswered: "Nobody answered in time.",
    lost: "Call lost — the kiosk's connection dropped.",
    error: "The call ended because of an error.",
  };

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
    toggle.textContent = available ? "Available" : "Away";
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
      say("Not connected to the call service; trying again…", true);
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
      r.row.querySelector(".site").textContent = "Live call from " + d.site;
      const parts = ["Kiosk " + d.kiosk_id, TOPICS[d.topic] || d.topic];
      parts.push(d.iin_masked ? "IIN " + d.iin_masked : "not identified");
      if (d.test) parts.push("TEST call from a technician");
      r.row.querySelector(".detail").textContent = parts.join(" · ");
      r.row.querySelector(".timer").textContent = r.taken ? "" : "waiting " + clock(waiting(r));
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
        button.textContent = "Answer";
        if (mode !== "answer") {
          button.disabled = true;
          button.title = mode === "away" ? "Mark yourself Available to answer" : "Close your call first";
        }
        button.addEventListener("click", () => {
          button.disabled = true;
          button.textContent = "Answering…";
          if (!send({ type: "answer", call_id: id })) {
            button.disabled = false;
            button.textContent = "Not connected — try again";
          }
        });
        const hint = document.createElement("small");
        hint.className = "hint";
        hint.textContent = mode === "away" ? "You are away" : mode === "busy" ? "You are on a call" : "";
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
    iin.textContent = d.iin_masked || "not given";
    iin.classList.remove("revealed");
    iin.classList.toggle("muted", !d.iin_masked);
    $("call-reveal").hidden = !d.iin_masked;
    const link = $("call-appeal");
    link.textContent = appealId;
    link.href = "/console/appeals/" + encodeURIComponent(appealId);
    $("call-notes").value = "";
    for (const o of document.querySelectorAll("input[name=call-outcome]")) o.checked = false;
    $("call-state").textContent = "Connecting to the kiosk…";
    $("call-timer").textContent = "0:00";
    $("call-banner").hidden = true;
    $("call-saved").hidden = true;
    showError("");
    $("call-mute").hidden = false;
    $("call-mute").textContent = "Mute";
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
        $("call-state").textContent = "On the call";
      } else if (pc.connectionState === "disconnected") {
        $("call-state").textContent = "Connection unsteady…";
      } else if (pc.connectionState === "failed") {
        send({ type: "hang_up", call_id: call.callId, reason: "lost" });
        callEnded(call, "lost", "Call lost — the network between you and the kiosk failed.");
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
      showError("Your camera or microphone could not be opened (" + e.name + "): the patient " +
        "cannot see or hear you. Allow them in the browser's site settings.");
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
      callEnded(call, "error", "The kiosk's video offer could not be used (" + e.message +
        "); the call has ended. The patient can record an appeal instead.");
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
    $("call-state").textContent = reason === "lost" ? "Call lost" : "Call ended";
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
    if (!response) return what + " failed: no connection to the server. Try again.";
    if (response.status === 403) return what + " failed: this page's form token expired. Copy " +
      "your notes, reload the page, and save them on the appeal's page.";
    if (response.status === 401 || response.redirected) return what + " failed: sign in again.";
    return what + " failed (" + response.status + "). Try again; if it keeps failing, note it " +
      "on the appeal's page.";
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
      saved.textContent = "Saved on appeal " + call.appealId + " at " +
        new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) + ".";
    } else {
      showError(failure(response, "Saving the notes and outcome"));
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
      showError("The IIN can be revealed only during your call; after it, reveal it on the " +
        "appeal's page once the kiosk's record has arrived.");
    } else {
      showError(failure(response, "Revealing the IIN"));
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
    $("call-mute").textContent = call.muted ? "Unmute" : "Mute";
    $("call-mute").setAttribute("aria-pressed", String(call.muted));
    $("call-state").textContent = call.muted ? "On the call — you are muted" : "On the call";
  });
  $("call-hangup").addEventListener("click", () => {
    const call = current;
    if (!call || call.ended) return;
    send({ type: "hang_up", call_id: call.callId, reason: "hung_up" });
    callEnded(call, "hung_up", "You hung up.");
  });
  $("call-close").addEventListener("click", () => {
    if (current && current.dirty &&
        !confirm("Your notes or outcome are not saved yet. Close anyway?")) return;
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
          r.taken = "Taken by " + m.by;
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
          showError(m.message);
        } else if (m.call_id && ringing.has(m.call_id)) {
          const r = ringing.get(m.call_id);
          r.taken = m.code === "already_taken" ? "Another operator answered first" : m.message;
          r.until = performance.now() + 6000;
          drawRinging();
        } else {
          say(m.message, true);
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
        callEnded(current, "lost", "Call lost — this console's connection to the call-centre " +
          "server dropped.");
      }
      say("Calls: reconnecting…", true);
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
