// The analyst's page: send an article to POST /classify_document, show the stance of every
// sentence toward the selected target, the per-target aggregate and its evidence.
// Plain JavaScript, no build step and no dependency; everything it loads comes from this server.
"use strict";

const STANCES = ["favor", "against", "none"];
const SENTIMENTS = ["positive", "negative", "neutral"];
const SENTIMENT_MARK = { positive: "▲", negative: "▼", neutral: "●" };
// Longer links than this are cut by some proxies and chat tools; such texts are only posted.
const MAX_LINK_CHARS = 8000;

const $ = (id) => document.getElementById(id);
const state = { info: null, text: "", data: null, selected: 0 };

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

const pct = (p) => `${Math.round(p * 100)}%`;
const score = (p) => p.toFixed(2);

function targetsOf(value) {
  return value.split(",").map((t) => t.trim()).filter((t) => t.length > 0);
}

// ---- errors, in words -------------------------------------------------------------------------

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = false;
}

function hideError() {
  $("error").hidden = true;
  $("error").textContent = "";
}

// The API answers 400 with {"error": ..., "detail": [{"loc": [...], "msg": ...}]} (validation),
// {"error": ...} (other refusals), and 503 with {"detail": ...} while the model loads.
function describe(body) {
  if (body === null || typeof body !== "object") return "";
  if (Array.isArray(body.detail)) {
    return body.detail
      .map((d) => {
        const msg = String(d.msg || "").replace(/^Value error, /, "");
        const where = Array.isArray(d.loc) ? d.loc.join(".") : "";
        return where && !msg.startsWith(where) ? `${where}: ${msg}` : msg;
      })
      .join("; ");
  }
  if (typeof body.detail === "string") return body.detail;
  if (typeof body.error === "string") return body.error;
  return "";
}

async function apiError(response) {
  let body = null;
  try {
    body = await response.json();
  } catch (_) {
    body = null;
  }
  const why = describe(body);
  if (response.status === 503) {
    return "The model is still loading; try again in a few seconds.";
  }
  if (response.status >= 400 && response.status < 500) {
    return `The service could not classify this text: ${why || response.statusText}.`;
  }
  return `The service failed (HTTP ${response.status})${why ? `: ${why}` : ""}; its log says why.`;
}

function unreachable(error) {
  return `Could not reach the service at ${location.origin} (${error.message}). ` +
    "Is it running? Start it with `stance serve` or `make run`.";
}

// ---- the model line ---------------------------------------------------------------------------

async function loadInfo(attempt = 0) {
  const line = $("model-line");
  let response;
  try {
    response = await fetch("/info", { headers: { accept: "application/json" } });
  } catch (error) {
    line.textContent = unreachable(error);
    return;
  }
  if (response.status === 503 && attempt < 60) {
    line.textContent = "The model is still loading…";
    setTimeout(() => loadInfo(attempt + 1), 2000);
    return;
  }
  if (!response.ok) {
    line.textContent = await apiError(response);
    return;
  }
  state.info = await response.json();
  const info = state.info;
  line.textContent = `Model ${info.model} · ${info.backend} · runtime ${info.runtime} · ` +
    `default target “${info.default_target}”`;
  const targets = $("targets");
  targets.placeholder = info.default_target;
  if (!targets.value.trim() && !new URLSearchParams(location.search).has("targets")) {
    targets.value = info.default_target;
  }
}

// ---- classify ---------------------------------------------------------------------------------

async function classify() {
  const text = $("text").value;
  const targets = targetsOf($("targets").value);
  const body = targets.length ? { text, targets } : { text };
  hideError();
  const button = $("classify");
  button.disabled = true;
  $("status").textContent = "Classifying…";
  $("results").setAttribute("aria-busy", "true");
  const started = performance.now();
  try {
    let response;
    try {
      response = await fetch("/classify_document", {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify(body),
      });
    } catch (error) {
      showError(unreachable(error));
      $("status").textContent = "";
      return;
    }
    if (!response.ok) {
      showError(await apiError(response));
      $("status").textContent = "";
      return;
    }
    const data = await response.json();
    const seconds = (performance.now() - started) / 1000;
    state.text = text;
    state.data = data;
    state.selected = 0;
    render(seconds);
    share(text, targets);
    $("status").textContent = `Done: ${data.n_sentences} sentences.`;
  } finally {
    button.disabled = false;
    $("results").removeAttribute("aria-busy");
  }
}

// The address bar becomes a link to this analysis; a text too long for a link is only posted.
function share(text, targets) {
  const params = new URLSearchParams();
  params.set("text", text);
  if (targets.length) params.set("targets", targets.join(","));
  const url = `/?${params}`;
  const note = $("share");
  note.replaceChildren();
  if (url.length <= MAX_LINK_CHARS) {
    history.replaceState(null, "", url);
    const link = el("a", "", "Link to this analysis");
    link.href = url;
    link.id = "share-link";
    note.append(link, " (the address bar holds it too).");
  } else {
    const short = new URLSearchParams();
    if (targets.length) short.set("targets", targets.join(","));
    history.replaceState(null, "", short.toString() ? `/?${short}` : "/");
    note.textContent = `This text is too long to share as a link (${url.length} characters; ` +
      `the limit is ${MAX_LINK_CHARS}): it was posted to the service instead.`;
  }
}

// ---- results ----------------------------------------------------------------------------------

function render(seconds) {
  const { data } = state;
  $("results").hidden = false;
  renderTabs();
  renderSummaries();
  renderArticle();
  const info = state.info;
  const runtime = info && info.model === data.model ? ` · runtime ${info.runtime}` : "";
  $("run-meta").textContent = `Model ${data.model} · ${data.backend}${runtime} · ` +
    `${data.n_sentences} sentences · ${data.results.length} target(s) · ` +
    `answered in ${seconds.toFixed(2)} s`;
}

function renderTabs() {
  const tabs = $("tabs");
  tabs.replaceChildren();
  tabs.hidden = state.data.results.length < 2;
  state.data.results.forEach((result, k) => {
    const tab = el("button", "tab", result.target);
    tab.type = "button";
    tab.setAttribute("role", "tab");
    tab.setAttribute("aria-selected", String(k === state.selected));
    tab.addEventListener("click", () => select(k));
    tabs.append(tab);
  });
}

function select(k) {
  if (k === state.selected) return;
  state.selected = k;
  renderTabs();
  renderSummaries();
  renderArticle();
}

function bars(title, labels, distribution, kind) {
  const figure = el("figure", "bars");
  figure.append(el("figcaption", "", title));
  for (const label of labels) {
    const row = el("div", "bar-row");
    const track = el("div", "bar-track");
    const fill = el("div", `bar-fill ${kind}-${label}`);
    fill.style.width = pct(distribution[label]);
    track.append(fill);
    row.append(el("span", "bar-label", label), track, el("span", "bar-value", pct(distribution[label])));
    figure.append(row);
  }
  return figure;
}

function renderSummaries() {
  const box = $("summaries");
  box.replaceChildren();
  state.data.results.forEach((result, k) => {
    const card = el("section", `summary${k === state.selected ? " selected" : ""}`);
    card.dataset.target = result.target;
    card.append(el("h2", "", result.target));
    const verdict = el("p", "verdict");
    verdict.append("Document: ", el("span", `key stance-${result.stance}`, result.stance));
    verdict.append(` · confidence ${pct(result.stance_confidence)}`);
    card.append(verdict);
    card.append(bars("Stance, share of sentences", STANCES, result.stance_distribution, "stance"));
    card.append(
      bars("Sentiment, share of sentences", SENTIMENTS, result.sentiment_distribution, "senti"),
    );
    const evidence = el("div", "evidence");
    if (result.evidence.length) {
      evidence.append(el("h3", "", "Evidence"));
      const list = el("ol");
      for (const i of result.evidence) {
        const sentence = result.sentences[i];
        const item = el("li");
        const link = el("a", "", `Sentence ${i + 1}`);
        link.href = `#s-${i}`;
        link.addEventListener("click", (event) => {
          event.preventDefault();
          goTo(k, i);
        });
        const quote = sentence.text.length > 90 ? `${sentence.text.slice(0, 90)}…` : sentence.text;
        item.append(link, `: “${quote}”`);
        list.append(item);
      }
      evidence.append(list);
    } else {
      const why = result.stance === "none"
        ? "No sentence takes a side, so there is no evidence."
        : `No sentence is labelled ${result.stance} on its own: the side comes from the ` +
          "probability mass of all sentences.";
      evidence.append(el("p", "hint", why));
    }
    card.append(evidence);
    if (state.data.results.length > 1 && k !== state.selected) {
      const show = el("button", "secondary", "Highlight this target");
      show.type = "button";
      show.addEventListener("click", () => select(k));
      card.append(show);
    }
    box.append(card);
  });
}

function goTo(k, i) {
  select(k);
  const sentence = $(`s-${i}`);
  sentence.scrollIntoView({ block: "center" });
  sentence.focus({ preventScroll: true });
}

function scoresText(scores, labels) {
  return labels.map((l) => `${l} ${score(scores[l])}`).join(", ");
}

function sentenceLabel(s, target) {
  const windows = s.windows > 1 ? `; read in ${s.windows} windows` : "";
  return `Sentence ${s.index + 1}: ${s.stance} toward ${target} ` +
    `(${scoresText(s.stance_scores, STANCES)}); sentiment ${s.sentiment} ` +
    `(${scoresText(s.sentiment_scores, SENTIMENTS)})${windows}`;
}

function sentenceNode(s, target) {
  const node = el("span", `sentence stance-${s.stance}${s.windows > 1 ? " windowed" : ""}`);
  node.id = `s-${s.index}`;
  node.tabIndex = 0;
  node.dataset.index = String(s.index);
  node.dataset.stance = s.stance;
  node.dataset.sentiment = s.sentiment;
  node.setAttribute("role", "group");
  node.setAttribute("aria-label", sentenceLabel(s, target));
  const label = el("span", "label", s.stance);
  label.setAttribute("aria-hidden", "true");
  const mark = el("span", `senti senti-${s.sentiment}`, SENTIMENT_MARK[s.sentiment]);
  mark.setAttribute("aria-hidden", "true");
  node.append(label, el("span", "text", s.text), mark);
  if (s.windows > 1) {
    const win = el("span", "win", `⧉${s.windows}`);
    win.setAttribute("aria-hidden", "true");
    node.append(win);
  }
  return node;
}

function renderArticle() {
  const result = state.data.results[state.selected];
  const article = $("article");
  article.replaceChildren();
  let at = 0;
  for (const s of result.sentences) {
    if (s.start > at) article.append(state.text.slice(at, s.start));
    article.append(sentenceNode(s, result.target));
    at = s.end;
  }
  if (at < state.text.length) article.append(state.text.slice(at));
  const windowed = result.sentences.filter((s) => s.windows > 1);
  const note = $("windowed");
  note.replaceChildren();
  if (!windowed.length) {
    note.textContent = "No sentence was longer than the model reads: none was windowed.";
    return;
  }
  note.append(`Windowed (longer than the model reads, so read in overlapping windows whose ` +
    `scores are averaged; marked ⧉): `);
  windowed.forEach((s, n) => {
    const link = el("a", "", `sentence ${s.index + 1} (${s.windows} windows)`);
    link.href = `#s-${s.index}`;
    link.addEventListener("click", (event) => {
      event.preventDefault();
      goTo(state.selected, s.index);
    });
    note.append(n ? ", " : "", link);
  });
}

// ---- scores on hover and on keyboard focus ----------------------------------------------------

function showTip(node) {
  const result = state.data.results[state.selected];
  const s = result.sentences[Number(node.dataset.index)];
  const tip = $("tip");
  tip.replaceChildren(
    el("strong", "", `Sentence ${s.index + 1}: ${s.stance}`),
    el("div", "", `stance: ${scoresText(s.stance_scores, STANCES)}`),
    el("div", "", `sentiment ${s.sentiment}: ${scoresText(s.sentiment_scores, SENTIMENTS)}`),
  );
  if (s.windows > 1) tip.append(el("div", "", `read in ${s.windows} windows`));
  tip.hidden = false;
  const box = node.getClientRects()[0] || node.getBoundingClientRect();
  const left = Math.min(box.left + window.scrollX, window.scrollX + window.innerWidth - 340);
  tip.style.left = `${Math.max(left, 4)}px`;
  tip.style.top = `${box.bottom + window.scrollY + 6}px`;
}

function hideTip() {
  $("tip").hidden = true;
}

function sentenceOf(event) {
  return event.target instanceof Element ? event.target.closest(".sentence") : null;
}

// ---- input: typing, Ctrl+Enter, files, deep links ---------------------------------------------

async function readFile(file) {
  hideError();
  if (!/\.(txt|md)$/i.test(file.name) && !(file.type || "").startsWith("text/")) {
    showError(`${file.name} is not a text file: open or drop a .txt or .md file.`);
    return;
  }
  let text;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(await file.arrayBuffer());
  } catch (_) {
    showError(`${file.name} is not UTF-8 text: save it as UTF-8 and try again.`);
    return;
  }
  $("text").value = text;
  $("status").textContent = `Read ${file.name} (${text.length} characters): press Classify.`;
}

function start() {
  const form = $("form");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    classify();
  });
  form.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  const area = $("text");
  area.addEventListener("dragover", (event) => {
    event.preventDefault();
    area.classList.add("dropping");
  });
  area.addEventListener("dragleave", () => area.classList.remove("dropping"));
  area.addEventListener("drop", (event) => {
    event.preventDefault();
    area.classList.remove("dropping");
    const file = event.dataTransfer && event.dataTransfer.files[0];
    if (file) readFile(file);
  });
  $("file").addEventListener("change", (event) => {
    const file = event.target.files[0];
    if (file) readFile(file);
  });
  const article = $("article");
  article.addEventListener("mouseover", (event) => {
    const node = sentenceOf(event);
    if (node) showTip(node);
  });
  article.addEventListener("mouseout", (event) => {
    if (sentenceOf(event)) hideTip();
  });
  article.addEventListener("focusin", (event) => {
    const node = sentenceOf(event);
    if (node) showTip(node);
  });
  article.addEventListener("focusout", hideTip);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") hideTip();
  });

  const params = new URLSearchParams(location.search);
  if (params.has("targets")) $("targets").value = params.get("targets");
  loadInfo();
  if (params.has("text")) {
    area.value = params.get("text");
    classify();
  }
}

document.addEventListener("DOMContentLoaded", start);
