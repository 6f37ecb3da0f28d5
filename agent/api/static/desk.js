// The desk page: shows the latest verification, live, from the agent's local API.
// The access token comes from the URL fragment (#token=..., never sent to a server) or from the
// operator, and is kept for this tab only (sessionStorage). Every text comes from the agent's
// message catalogue (Vietnamese first, English on demand). Data is always written with textContent:
// names and addresses come from QR codes and cards, never trusted as HTML.
"use strict";

(() => {
  const TOKEN_KEY = "cccd-agent-token";
  const LANG_KEY = "cccd-agent-lang";
  const STATUS_EVERY_MS = 5000;
  const HISTORY_SIZE = 8;
  const VERDICT_ICONS = { verified: "✓", warning: "!", rejected: "✕", cannot_check: "?" };

  let token = "";
  let lang = localStorage.getItem(LANG_KEY) || "vi";
  let texts = {};
  let config = {};
  let current = null;
  let previewing = null; // the card still being read that the result panel shows (not a result)
  let beforePreview = null;
  let readerState = null;
  let streamAbort = null;
  let operators = null;
  let lastStatus = null;

  const $ = (id) => document.getElementById(id);

  // --- texts -------------------------------------------------------------------------------------

  function t(key, params) {
    const entry = texts[key];
    let text = entry ? (entry[lang] || entry.vi) : key;
    if (params) {
      for (const [name, value] of Object.entries(params)) text = text.split("{" + name + "}").join(value);
    }
    return text;
  }

  function pick(pair) {
    if (!pair) return "";
    return pair[lang] || pair.vi || "";
  }

  function applyStaticTexts() {
    document.documentElement.lang = lang;
    for (const node of document.querySelectorAll("[data-t]")) {
      const key = node.getAttribute("data-t");
      if (texts[key]) node.textContent = t(key);
    }
    document.title = t("desk.title");
    $("lang").textContent = t("desk.language");
    $("profile").textContent = config.site_profile ? t("desk.profile." + config.site_profile) : "";
    // The notary compares what was typed with the chip; the BHXH gateway needs a name and a birth date.
    const fieldsShown = config.site_profile === "notary" || config.lookup_needs_identity;
    $("notary-fields").hidden = !fieldsShown;
    $("fields-legend").textContent = t(config.site_profile === "notary" ? "desk.manual.notary_fields"
      : "desk.manual.identity_fields");
    renderBanners();
    renderOperators(operators);
  }

  // --- formatting --------------------------------------------------------------------------------

  function day(iso) {
    if (!iso) return "—";
    const [y, m, d] = iso.slice(0, 10).split("-");
    return `${d}/${m}/${y}`;
  }

  function moment(iso) {
    if (!iso) return "—";
    const when = new Date(iso);
    const pad = (n) => String(n).padStart(2, "0");
    return `${pad(when.getHours())}:${pad(when.getMinutes())} ${pad(when.getDate())}/${pad(when.getMonth() + 1)}/${when.getFullYear()}`;
  }

  function sexText(value) {
    if (!value) return "—";
    const v = value.toLowerCase();
    if (lang === "en") return v === "nam" || v === "m" ? "Male" : v === "nữ" || v === "f" ? "Female" : value;
    return v === "m" ? "Nam" : v === "f" ? "Nữ" : value;
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // --- the API -----------------------------------------------------------------------------------

  async function api(path, options = {}) {
    const headers = Object.assign({ Authorization: "Bearer " + token }, options.headers || {});
    const response = await fetch(path, Object.assign({}, options, { headers, cache: "no-store" }));
    if (response.status === 401) {
      askToken(true);
      throw new Error("unauthorized");
    }
    return response;
  }

  async function apiJson(path, options) {
    const response = await api(path, options);
    const body = await response.json();
    if (!response.ok) {
      const error = new Error("api");
      error.body = body;
      throw error;
    }
    return body;
  }

  // --- rendering ---------------------------------------------------------------------------------

  function renderBanners() {
    const box = $("banners");
    box.replaceChildren();
    for (const key of config.banners || []) box.appendChild(el("div", "banner", t(key)));
    box.hidden = !(config.banners || []).length;
  }

  function renderReader(state) {
    readerState = state;
    if (!state) return;
    const box = $("reader");
    box.className = "reader reader-" + state.state;
    const params = state.id_masked ? { id: state.id_masked } : undefined;
    $("reader-text").textContent = texts[state.message_key] ? t(state.message_key, params) : pick(state.text);
    $("reader-next").textContent = state.next_key ? t(state.next_key) : "";
    const progress = $("progress");
    progress.hidden = state.state !== "reading";
    $("progress-bar").style.width = Math.round((state.fraction || 0) * 100) + "%";
    // A read that ended with no result (card pulled, wrong key): the unchecked preview goes away.
    if (previewing && state.state !== "reading") renderResult(beforePreview);
  }

  function renderResult(result) {
    previewing = null;
    current = result;
    const box = $("result");
    if (!result) {
      box.className = "result result-empty";
      $("verdict-text").textContent = t("desk.waiting");
      $("verdict-icon").textContent = "";
      for (const id of ["result-body", "next", "comparison", "reasons-box", "actions", "offline"]) $(id).hidden = true;
      return;
    }
    box.className = "result result-" + result.verdict;
    $("verdict-icon").textContent = VERDICT_ICONS[result.verdict] || "";
    $("verdict-text").textContent = t("verdict." + result.verdict);
    const offline = $("offline");
    offline.hidden = !result.offline;
    offline.textContent = result.offline ? t("desk.offline", { time: moment(result.offline_since) }) : "";

    $("result-body").hidden = false;
    showFace(result.face, result.display.full_name);
    $("name").textContent = result.display.full_name || "—";
    // A name a scanner's input method garbled is shown as doubtful (the reasons say why).
    const doubtful = (result.reasons || []).some((reason) => reason.key === "reason.name_unreliable");
    $("name").classList.toggle("doubtful", doubtful);
    $("name").title = doubtful ? t("reason.name_unreliable") : "";
    $("dob").textContent = day(result.display.date_of_birth);
    $("sex").textContent = sexText(result.display.sex);
    // A BHYT card's QR code carries no CCCD number: its card number is shown instead.
    const byCard = !result.display.id_masked && !result.display.old_id_masked && result.display.bhyt_card_masked;
    $("idmasked-label").textContent = t(byCard ? "desk.bhyt_card" : "desk.id_number");
    $("idmasked").textContent = result.display.id_masked || result.display.old_id_masked
      || result.display.bhyt_card_masked || "—";
    $("source").textContent = t("desk.source." + result.source);
    $("time").textContent = moment(result.created_at);

    const badge = $("badge");
    badge.className = "badge badge-" + result.badge;
    badge.textContent = t("desk.badge." + result.badge);
    $("badge-reason").textContent = result.badge_reason ? t(result.badge_reason.key) : "";

    renderEntitlement(result);
    renderNext(result);
    renderComparison(result.comparison || []);
    renderReasons(result);
    $("actions").hidden = false;
  }

  // Who the card being read shows, before its checks and the lookup: the identity, then the face, marked
  // as being checked; its result replaces it.
  function renderPreview(preview) {
    if (!previewing) beforePreview = current;
    previewing = preview;
    current = null;
    $("result").className = "result result-checking";
    $("verdict-icon").textContent = "…";
    $("verdict-text").textContent = t("desk.checking");
    for (const id of ["next", "comparison", "reasons-box", "actions", "offline", "entitlement"]) $(id).hidden = true;
    $("result-body").hidden = false;
    showFace(preview.face, preview.display.full_name);
    $("name").textContent = preview.display.full_name || "—";
    $("name").classList.remove("doubtful"); // a chip's name
    $("dob").textContent = day(preview.display.date_of_birth);
    $("sex").textContent = sexText(preview.display.sex);
    $("idmasked").textContent = preview.display.id_masked || "—";
    $("source").textContent = t("desk.source.chip");
    $("time").textContent = "";
    const badge = $("badge");
    badge.className = "badge badge-checking";
    badge.textContent = t("desk.checking");
    $("badge-reason").textContent = "";
  }

  function showFace(src, name) {
    const face = $("face");
    if (src) {
      face.src = src;
      face.alt = name || "";
      face.hidden = false;
      $("face-none").hidden = true;
    } else {
      face.removeAttribute("src");
      face.hidden = true;
      $("face-none").hidden = false;
    }
  }

  function fact(list, labelKey, value, className) {
    const row = el("div", className);
    row.appendChild(el("dt", "", t(labelKey)));
    row.appendChild(el("dd", "", value));
    list.appendChild(row);
  }

  function renderEntitlement(result) {
    const ent = result.entitlement;
    const box = $("entitlement");
    const list = $("ent-facts");
    list.replaceChildren();
    if (!ent) {
      box.hidden = true;
      return;
    }
    box.hidden = false;
    box.className = "entitlement entitlement-" + ent.status;
    const key = ent.reason_key && texts[ent.reason_key] ? ent.reason_key : `check.${ent.kind}.${ent.status}`;
    $("ent-status").textContent = texts[key] ? t(key) : ent.status;
    const d = ent.details || {};
    const good = ent.status === "valid" || ent.status === "valid_with_warning";
    if (ent.kind === "insurance" && d.card_number) {
      fact(list, "desk.insurance_card", d.card_number, "mono");
      if (d.valid_from) fact(list, "desk.validity", `${day(d.valid_from)} – ${day(d.valid_to)}`, good ? "good" : "bad");
      else fact(list, "desk.valid_until", day(d.valid_to), good ? "good" : "bad");
      if (d.benefit_level) {
        fact(list, "desk.benefit_level", d.benefit_rate ? `${d.benefit_level} (${d.benefit_rate}%)` : String(d.benefit_level));
      }
      if (d.facility_code) fact(list, "desk.facility", d.facility_name ? `${d.facility_code} · ${d.facility_name}` : d.facility_code);
      if (d.five_year_date) fact(list, "desk.five_year", day(d.five_year_date));
    }
    if (ent.kind === "insurance" && d.new_card) {
      const card = d.new_card;
      const facility = card.facility ? ` · ${card.facility.code}${card.facility.name ? " " + card.facility.name : ""}` : "";
      fact(list, "desk.new_card", `${card.number} (${day(card.valid_from)} – ${day(card.valid_to)})${facility}`, "mono");
    }
    if (ent.kind === "insurance" && d.message) fact(list, "desk.gateway_message", d.message, "quote");
    if (ent.kind === "roster" && d.candidate_no) {
      fact(list, "desk.seat", d.candidate_no, "mono big");
      fact(list, "desk.session", d.session_id || "", "mono");
    }
  }

  function renderNext(result) {
    const list = $("next-list");
    list.replaceChildren();
    for (const step of result.next_steps || []) list.appendChild(el("li", "", t(step.key)));
    $("next").hidden = !(result.next_steps || []).length;
  }

  function renderComparison(rows) {
    const body = $("comparison-rows");
    body.replaceChildren();
    for (const row of rows) {
      const tr = el("tr", row.same ? "same" : "different");
      tr.appendChild(el("th", "", t("desk." + row.field)));
      tr.appendChild(el("td", "", row.field === "date_of_birth" ? day(row.entered) : row.entered));
      tr.appendChild(el("td", "", row.field === "date_of_birth" ? day(row.chip) : row.chip));
      tr.appendChild(el("td", "flag", row.same ? "✓ " + t("desk.same") : "≠ " + t("desk.different")));
      body.appendChild(tr);
    }
    $("comparison").hidden = !rows.length;
  }

  function renderReasons(result) {
    const list = $("reasons");
    list.replaceChildren();
    for (const reason of result.reasons || []) list.appendChild(el("li", "", t(reason.key)));
    const tech = $("tech");
    tech.replaceChildren();
    for (const line of (result.authenticity && result.authenticity.reasons) || []) tech.appendChild(el("li", "", line));
    $("reasons-box").hidden = !(result.reasons || []).length;
    $("reasons-box").open = result.verdict !== "verified";
  }

  function renderStatusItem(id, ok, text) {
    const item = $(id);
    item.className = ok === true ? "ok" : ok === false ? "bad" : ok === "warn" ? "warn" : "unknown";
    item.querySelector("b").textContent = text;
  }

  function renderStatus(status) {
    const readers = status.readers || {};
    const readerCount = (readers.readers || []).length;
    renderStatusItem("st-reader", readers.state === "ok" ? true : readers.state === "disabled" ? null : false,
      readers.state === "ok" ? t("desk.status.ok") + (readerCount > 1 ? ` (${readerCount})` : "")
        : readers.state === "disabled" ? t("desk.status.disabled") : t("desk.status.none"));
    const camera = status.camera || {};
    const cameraOk = camera.state === "ok" || camera.state === "starting";
    renderStatusItem("st-camera", camera.state === "disabled" ? null : cameraOk,
      camera.state === "disabled" ? t("desk.status.disabled") : cameraOk ? t("desk.status.ok") : t("desk.status.none"));
    renderScanner(status.scanner || {});
    const backend = status.backend || {};
    renderStatusItem("st-backend", backend.state === "online" ? true : backend.state === "offline" ? false : null,
      t(backend.state === "online" ? "desk.status.ok" : backend.state === "offline" ? "desk.status.offline" : "desk.status.unknown"));
    const sync = status.sync || {};
    // A parked record (one a backend kept refusing) waits for a technician: shown apart, in red.
    const parked = sync.parked || 0;
    renderStatusItem("st-sync", parked ? false : (sync.pending || 0) === 0 ? true : "warn",
      String(sync.pending || 0) + (parked ? ` · ${t("desk.status.parked")} ${parked}` : ""));
  }

  // The serial scanner as the agent reports it, and a keyboard-wedge scanner once this page has seen a scan.
  function renderScanner(scanner) {
    const serial = scanner.state && scanner.state !== "disabled";
    const keyboard = wedgeSeen ? t("desk.status.keyboard") : "";
    if (!serial) {
      renderStatusItem("st-scanner", keyboard ? true : null, keyboard || t("desk.status.disabled"));
      return;
    }
    const ok = scanner.state === "ok";
    const text = (ok ? t("desk.status.ok") : scanner.state === "starting" ? t("desk.status.unknown")
      : t("desk.status.none")) + (scanner.port ? ` (${scanner.port})` : "");
    renderStatusItem("st-scanner", ok ? true : scanner.state === "starting" ? "warn" : false,
      keyboard ? `${text} · ${keyboard}` : text);
  }

  async function loadHistory() {
    const body = await apiJson(`/api/results?size=${HISTORY_SIZE}`);
    const list = $("history");
    list.replaceChildren();
    for (const item of body.results) {
      const li = el("li", "history-" + item.verdict);
      li.appendChild(el("span", "history-icon", VERDICT_ICONS[item.verdict] || ""));
      const who = el("span", "history-who");
      who.appendChild(el("span", "history-name", item.full_name || item.id_masked || "—"));
      who.appendChild(el("span", "history-meta", `${moment(item.created_at)} · ${t("desk.source." + item.source)}`));
      li.appendChild(who);
      li.tabIndex = 0;
      li.title = t("verdict." + item.verdict);
      li.addEventListener("click", () => openResult(item.result_id));
      li.addEventListener("keydown", (event) => { if (event.key === "Enter") openResult(item.result_id); });
      list.appendChild(li);
    }
  }

  async function openResult(resultId) {
    const body = await apiJson(`/api/results/${encodeURIComponent(resultId)}`);
    renderResult(body.result);
  }

  // --- live updates ------------------------------------------------------------------------------

  async function stream() {
    let delay = 1000;
    for (;;) {
      streamAbort = new AbortController();
      try {
        const response = await api("/api/results/stream", { signal: streamAbort.signal });
        if (!response.ok || !response.body) throw new Error("stream");
        $("connection").hidden = true;
        delay = 1000;
        await refresh();
        const reader = response.body.getReader();
        const decoder = new TextDecoder();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          let cut;
          while ((cut = buffer.indexOf("\n\n")) >= 0) {
            handleEvent(buffer.slice(0, cut));
            buffer = buffer.slice(cut + 2);
          }
        }
      } catch (error) {
        if (error.message === "unauthorized") return;
      }
      $("connection").textContent = t("desk.connection_lost");
      $("connection").hidden = false;
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 10000);
    }
  }

  function handleEvent(block) {
    let kind = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) kind = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    if (!data.length) return;
    const payload = JSON.parse(data.join("\n"));
    if (kind === "result") {
      renderResult(payload);
      loadHistory().catch(() => {});
      refreshStatus().catch(() => {});
    } else if (kind === "reader") {
      renderReader(payload);
    } else if (kind === "preview") {
      renderPreview(payload);
    }
  }

  async function refresh() {
    const latest = await apiJson("/api/results/latest");
    // While a card is being read, its result is on its way: the preview stays.
    if (!previewing && latest.result && (!current || current.result_id !== latest.result.result_id)) {
      renderResult(latest.result);
    }
    await Promise.all([loadHistory(), refreshStatus()]);
  }

  async function refreshStatus() {
    const status = await apiJson("/api/status");
    lastStatus = status;
    renderStatus(status);
    if (status.reader_state && !readerState) renderReader(status.reader_state);
    if (status.operator && typeof status.operator === "object") renderOperators(status.operator);
  }

  // --- the operator's input -------------------------------------------------------------------------

  async function submitManual(event) {
    event.preventDefault();
    const input = $("id-input");
    const number = input.value.replace(/\s+/g, "").toUpperCase();
    const error = $("manual-error");
    error.textContent = "";
    // the 12-digit ID, the old 9-digit CMND, a BHYT card's number or its 10-digit social insurance number
    if (!/^([0-9]{12}|[0-9]{9}|[0-9]{10}|[A-Z]{2}[1-5][0-9]{12})$/.test(number)) {
      error.textContent = t("desk.manual.label");
      input.focus();
      return;
    }
    const body = { id_number: number };
    if (!$("notary-fields").hidden) {
      if ($("f-name").value.trim()) body.full_name = $("f-name").value.trim();
      if ($("f-dob").value.trim()) body.date_of_birth = $("f-dob").value.trim();
    }
    try {
      const answer = await apiJson("/api/verify/manual", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      renderResult(answer.result);
      input.value = "";
      $("f-name").value = "";  // typed personal data does not linger on the screen
      $("f-dob").value = "";
    } catch (failure) {
      const detail = failure.body && failure.body.error;
      error.textContent = detail ? (lang === "en" ? detail.message_en : detail.message_vi) + " " + detail.message : String(failure);
    }
  }

  // --- keyboard-wedge QR scanners -----------------------------------------------------------------
  // A wedge scanner types the decoded text wherever the focus is, a key every few milliseconds, and may
  // send Enter or Tab in the middle of a long code. So a scan is a burst of keys, each within
  // WEDGE_KEY_GAP_MS of the last, ended only by the idle gap of the page config (wedge_idle_ms), never by
  // Enter or Tab (dropped). Once a burst is fast enough to be a scanner, its keys no longer reach the
  // focused field (what had already reached it is taken back); a person typing, slower, is left alone.
  // The text goes to /api/verify/qr marked as typed, so the agent repairs what an input method did to it.
  const WEDGE_KEY_GAP_MS = 35;
  const WEDGE_BURST_KEYS = 4; // keys in a row at scanner speed before the burst counts as a scan
  const WEDGE_MIN_LENGTH = 20; // a shorter burst is no code of ours: given back to the field
  let wedge = null;
  let wedgeSeen = false;

  function wedgeIdleMs() {
    return Number(config.wedge_idle_ms) || 150;
  }

  function wedgeBurst(now) {
    const target = document.activeElement;
    const editable = target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA") ? target : null;
    return {
      keys: [], gaps: [], lastAt: now, scanning: false, heldEnter: false, timer: null, target: editable,
      value: editable ? editable.value : "",
      start: editable ? editable.selectionStart : null, end: editable ? editable.selectionEnd : null,
    };
  }

  function wedgeKey(event) {
    if (event.isComposing || event.ctrlKey || event.metaKey || event.altKey) return;
    const key = event.key;
    const printable = [...key].length === 1;
    if (!printable && key !== "Enter" && key !== "Tab" && key !== "Backspace") return;
    const now = performance.now();
    if (!wedge || now - wedge.lastAt > wedgeIdleMs()) {
      if (!printable) return; // only a character starts a burst
      if (wedge) clearTimeout(wedge.timer);
      wedge = wedgeBurst(now);
    }
    const gap = wedge.keys.length || wedge.gaps.length ? now - wedge.lastAt : Infinity;
    wedge.gaps.push(gap);
    wedge.lastAt = now;
    if (key === "Backspace") wedge.keys.pop(); // an input method taking back a letter to compose another
    else if (printable) wedge.keys.push(key);
    const recent = wedge.gaps.slice(1).slice(-(WEDGE_BURST_KEYS - 1));
    if (!wedge.scanning && recent.length >= WEDGE_BURST_KEYS - 1 && recent.every((g) => g <= WEDGE_KEY_GAP_MS)) {
      wedge.scanning = true;
      if (wedge.target) { // the first keys reached the field before the burst showed what it was
        wedge.target.value = wedge.value;
        if (wedge.start !== null) wedge.target.setSelectionRange(wedge.start, wedge.end);
      }
    }
    const fastSeparator = (key === "Enter" || key === "Tab") && gap <= WEDGE_KEY_GAP_MS;
    if (wedge.scanning || fastSeparator) {
      event.preventDefault();
      event.stopPropagation();
      if (key === "Enter") wedge.heldEnter = true;
    }
    clearTimeout(wedge.timer);
    wedge.timer = setTimeout(wedgeEnd, wedgeIdleMs());
  }

  function wedgeEnd() {
    const burst = wedge;
    wedge = null;
    if (!burst) return;
    const submit = () => {
      // An Enter held back is given to the form it was meant for.
      if (burst.heldEnter && burst.target && burst.target.form) burst.target.form.requestSubmit();
    };
    if (!burst.scanning) { // a person after all
      submit();
      return;
    }
    const text = burst.keys.join("");
    if (text.length < WEDGE_MIN_LENGTH) {
      // Too short for a code of ours (a barcode scanner typing an ID number, a very fast typist): it is
      // given back to the field, Enter included, as if it had been typed there.
      if (burst.target) burst.target.setRangeText(text, burst.target.selectionStart, burst.target.selectionEnd, "end");
      submit();
      return;
    }
    wedgeSeen = true;
    if (lastStatus) renderStatus(lastStatus);
    sendScan(text).catch(() => {});
  }

  async function sendScan(text) {
    const box = $("scan-error");
    try {
      const answer = await apiJson("/api/verify/qr", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ text, keyboard: true }),
      });
      box.hidden = true;
      box.textContent = "";
      renderResult(answer.result);
    } catch (failure) {
      const detail = failure.body && failure.body.error;
      box.textContent = t("desk.scan_failed") + ": " + (detail ? (lang === "en" ? detail.message_en : detail.message_vi)
        : String(failure));
      box.hidden = false;
    }
  }

  async function downloadReceipt() {
    if (!current) return;
    const response = await api(`/api/receipts/${encodeURIComponent(current.result_id)}`);
    if (!response.ok) return;
    const blob = new Blob([await response.text()], { type: "application/json" });
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = `receipt-${current.result_id}.json`;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  }

  // --- the operator ------------------------------------------------------------------------------------

  function renderOperators(state) {
    operators = state;
    const box = $("operator");
    if (!state || !state.required) {
      box.hidden = !(state && state.signed_in);
      $("operator-name").textContent = state && state.signed_in ? state.signed_in.name : "";
      $("sign-out").hidden = true;
      return;
    }
    box.hidden = false;
    $("operator-name").textContent = state.signed_in ? state.signed_in.name : t("desk.operator.none");
    $("sign-out").hidden = !state.signed_in || state.automatic;
    if (!state.signed_in) askSignIn();
  }

  function askSignIn() {
    const dialog = $("sign-in-dialog");
    if (dialog.open) return; // asked already: the status refresh must not undo the operator's choice
    const who = $("sign-in-who");
    who.replaceChildren();
    for (const operator of operators.operators) {
      const option = el("option", "", operator.name);
      option.value = String(operator.number);
      option.dataset.pin = operator.pin ? "1" : "";
      who.appendChild(option);
    }
    showPinFor(who);
    dialog.showModal();
    who.focus();
  }

  function showPinFor(who) {
    const chosen = who.options[who.selectedIndex];
    const needsPin = Boolean(chosen && chosen.dataset.pin);
    $("sign-in-pin").hidden = !needsPin;
    $("sign-in-pin").previousElementSibling.hidden = !needsPin;
  }

  async function signIn(event) {
    event.preventDefault();
    const error = $("sign-in-error");
    error.textContent = "";
    try {
      const state = await apiJson("/api/operator", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ number: Number($("sign-in-who").value), pin: $("sign-in-pin").value }),
      });
      $("sign-in-pin").value = "";
      $("sign-in-dialog").close();
      renderOperators(state);
    } catch (failure) {
      const detail = failure.body && failure.body.error;
      error.textContent = detail ? (lang === "en" ? detail.message_en : detail.message_vi) : String(failure);
      $("sign-in-pin").value = "";
    }
  }

  async function signOut() {
    renderOperators(await apiJson("/api/operator", { method: "DELETE" }));
  }

  async function loadOperators() {
    renderOperators(await apiJson("/api/operators"));
  }

  function toggleLanguage() {
    lang = lang === "vi" ? "en" : "vi";
    localStorage.setItem(LANG_KEY, lang);
    applyStaticTexts();
    if (previewing) renderPreview(previewing);
    else renderResult(current);
    renderReader(readerState);
    loadHistory().catch(() => {});
    refreshStatus().catch(() => {});
  }

  // --- the token -----------------------------------------------------------------------------------

  function tokenFromFragment() {
    const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
    if (!match) return "";
    history.replaceState(null, "", location.pathname + location.search);  // out of the address bar
    return decodeURIComponent(match[1]);
  }

  function askToken(wrong) {
    if (streamAbort) streamAbort.abort();
    sessionStorage.removeItem(TOKEN_KEY);
    const dialog = $("token-dialog");
    // The catalogue needs the token, so this one text is here in both languages.
    $("token-error").textContent = wrong ? "Mã truy cập không đúng / Wrong access token" : "";
    if (!dialog.open) dialog.showModal();
    $("token-input").focus();
  }

  async function start() {
    const body = await apiJson("/api/messages");
    texts = body;
    config = await apiJson("/api/config");
    if (!localStorage.getItem(LANG_KEY) && config.language) lang = config.language;
    applyStaticTexts();
    await loadOperators();
    await refresh();
    setInterval(() => refreshStatus().catch(() => {}), STATUS_EVERY_MS);
    stream();
  }

  function begin() {
    $("lang").addEventListener("click", toggleLanguage);
    $("manual").addEventListener("submit", submitManual);
    $("receipt").addEventListener("click", downloadReceipt);
    $("sign-in-form").addEventListener("submit", signIn);
    $("sign-in-who").addEventListener("change", (event) => showPinFor(event.target));
    $("sign-out").addEventListener("click", () => signOut().catch(() => {}));
    $("token-form").addEventListener("submit", (event) => {
      event.preventDefault();
      token = $("token-input").value.trim();
      if (!token) return;
      sessionStorage.setItem(TOKEN_KEY, token);
      $("token-dialog").close();
      start().catch(() => {});
    });
    document.addEventListener("keydown", wedgeKey, true); // before any field sees the key
    document.addEventListener("keydown", (event) => {
      if (event.key === "F2") {
        event.preventDefault();
        $("id-input").focus();
      } else if (event.altKey && (event.key === "l" || event.key === "L")) {
        event.preventDefault();
        toggleLanguage();
      }
    });
    token = tokenFromFragment() || sessionStorage.getItem(TOKEN_KEY) || "";
    if (!token) {
      askToken(false);
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, token);
    start().catch(() => {});
  }

  document.addEventListener("DOMContentLoaded", begin);
})();
