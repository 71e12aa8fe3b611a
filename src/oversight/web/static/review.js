/*
 * review.js: progressive enhancement for the review pages.
 *
 * Every page works without this file (plain form posts); this only adds a live
 * diff, keyboard shortcuts, tag completion, a timer, renewing the lease on an item
 * while it is worked on, and a copy of the typed answer kept in the tab. The pages show untrusted
 * model output, so nothing here ever parses HTML: nodes are built with
 * createElement and filled with textContent only.
 *
 * Defines no globals. Each feature looks up its own elements and does nothing
 * when they are absent.
 */
(() => {
  "use strict";

  // ---------------------------------------------------------------------------
  // Small helpers
  // ---------------------------------------------------------------------------

  const byId = (id) => document.getElementById(id);

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    if (className) node.className = className;
    return node;
  }

  // Inputs that take typed text: shortcuts stay off while one of them has focus.
  // Radios, checkboxes and buttons do not take letters, so shortcuts still work on them.
  const NON_TEXT_INPUTS = new Set([
    "radio", "checkbox", "button", "submit", "reset", "image", "file", "range", "color", "hidden",
  ]);

  function isTypingTarget(node) {
    if (!node || node.nodeType !== 1) return false;
    if (node.isContentEditable) return true;
    const tag = node.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") return true;
    if (tag === "INPUT") return !NON_TEXT_INPUTS.has((node.type || "text").toLowerCase());
    return false;
  }

  function submitForm(form, submitter) {
    if (!form) return;
    if (typeof form.requestSubmit === "function") {
      if (submitter) form.requestSubmit(submitter);
      else form.requestSubmit();
      return;
    }
    // Very old browsers: clicking a submit button still runs validation and submit handlers.
    const button = submitter || form.querySelector("button[type=submit], button:not([type]), input[type=submit]");
    if (button) button.click();
    else form.submit();
  }

  function checkRadio(radio) {
    if (!radio || radio.checked) return;
    radio.checked = true;
    radio.dispatchEvent(new Event("input", { bubbles: true }));
    radio.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function radiosNamed(name, root) {
    return Array.from((root || document).querySelectorAll("input[type=radio]")).filter((r) => r.name === name);
  }

  // ---------------------------------------------------------------------------
  // Word diff: the same tokens as the Python side, re.findall(r"\S+|\s+", text).
  // The character class is Python's \s for str patterns exactly (JS \s differs a little).
  // ---------------------------------------------------------------------------

  const WS = "\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
  const TOKEN_RE = new RegExp(`[^${WS}]+|[${WS}]+`, "g");
  const SPACE_RE = new RegExp(`^[${WS}]`);

  const tokenize = (text) => text.match(TOKEN_RE) || [];
  const isSpace = (token) => SPACE_RE.test(token);
  const countWords = (tokens) => tokens.reduce((n, t) => (isSpace(t) ? n : n + 1), 0);

  // Myers' O(ND) diff on integer arrays. Returns a list of [op, token index] with
  // op 0 = equal (index in a), 1 = delete (index in a), 2 = insert (index in b),
  // or null once the work (diagonals visited + snake steps, which also bounds the
  // (D+1)^2 trace cells kept) passes the budget.
  function myers(a, b, budget) {
    const n = a.length;
    const m = b.length;
    const max = n + m;
    const off = max + 1;
    const v = new Int32Array(2 * max + 3);
    const trace = [];
    let found = -1;
    let work = 0;
    for (let d = 0; d <= max; d++) {
      work += 2 * d + 1;
      if (work > budget) return null;
      for (let k = -d; k <= d; k += 2) {
        let x = k === -d || (k !== d && v[off + k - 1] < v[off + k + 1]) ? v[off + k + 1] : v[off + k - 1] + 1;
        let y = x - k;
        const x0 = x;
        while (x < n && y < m && a[x] === b[y]) {
          x++;
          y++;
        }
        work += x - x0;
        v[off + k] = x;
        if (x >= n && y >= m) {
          found = d;
          break;
        }
      }
      trace.push(v.slice(off - d, off + d + 1));
      if (found >= 0) break;
    }
    const ops = [];
    let x = n;
    let y = m;
    for (let d = found; d > 0; d--) {
      const prev = trace[d - 1]; // V after step d-1, indexed k + (d-1)
      const k = x - y;
      const down = k === -d || (k !== d && prev[k - 1 + d - 1] < prev[k + 1 + d - 1]);
      const prevK = down ? k + 1 : k - 1;
      const prevX = prev[prevK + d - 1];
      const prevY = prevX - prevK;
      while (x > prevX && y > prevY) {
        x--;
        y--;
        ops.push([0, x]);
      }
      if (down) {
        y--;
        ops.push([2, y]);
      } else {
        x--;
        ops.push([1, x]);
      }
      x = prevX;
      y = prevY;
    }
    while (x > 0 && y > 0) {
      x--;
      y--;
      ops.push([0, x]);
    }
    return ops.reverse();
  }

  // Myers' work budget, in cells (diagonals visited + snake steps): a few tens of ms at most.
  // A middle that needs more is shown as one replaced block.
  const DIFF_BUDGET = 2000000;

  /*
   * Diff two token lists into segments {eq: [...]} or {del: [...], ins: [...]}.
   * Common prefix and suffix are trimmed first; the middle goes through Myers
   * unless that takes more than DIFF_BUDGET work, then it is one replaced block.
   */
  function diffTokens(a, b) {
    let start = 0;
    while (start < a.length && start < b.length && a[start] === b[start]) start++;
    let endA = a.length;
    let endB = b.length;
    while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
      endA--;
      endB--;
    }
    const midA = a.slice(start, endA);
    const midB = b.slice(start, endB);

    let coarse = false;
    let ops = null;
    if (midA.length && midB.length) {
      // Intern tokens so the inner loop compares integers.
      const ids = new Map();
      const intern = (list) => {
        const out = new Int32Array(list.length);
        for (let i = 0; i < list.length; i++) {
          let id = ids.get(list[i]);
          if (id === undefined) {
            id = ids.size;
            ids.set(list[i], id);
          }
          out[i] = id;
        }
        return out;
      };
      const ia = intern(midA);
      const ib = intern(midB);
      // Any script needs at least |n - m| edits, so at least that many rounds; skip when that alone is over budget.
      const least = Math.abs(ia.length - ib.length);
      ops = (least + 1) * (least + 1) > DIFF_BUDGET ? null : myers(ia, ib, DIFF_BUDGET);
      if (ops === null) coarse = true;
    }

    const segments = [];
    const push = (kind, token) => {
      let last = segments[segments.length - 1];
      const wantEq = kind === "eq";
      if (!last || (wantEq ? !last.eq : !!last.eq)) {
        last = wantEq ? { eq: [] } : { del: [], ins: [] };
        segments.push(last);
      }
      last[kind].push(token);
    };

    for (let i = 0; i < start; i++) push("eq", a[i]);
    if (ops) {
      for (const [op, idx] of ops) {
        if (op === 0) push("eq", midA[idx]);
        else if (op === 1) push("del", midA[idx]);
        else push("ins", midB[idx]);
      }
    } else {
      for (const t of midA) push("del", t);
      for (const t of midB) push("ins", t);
    }
    for (let i = endA; i < a.length; i++) push("eq", a[i]);

    // Readability: a whitespace-only equal run between two changes joins them,
    // so "quick brown" -> "slow red" reads as one replacement, not two.
    const merged = [];
    for (let i = 0; i < segments.length; i++) {
      const seg = segments[i];
      const prev = merged[merged.length - 1];
      const next = segments[i + 1];
      if (seg.eq && prev && !prev.eq && next && !next.eq && seg.eq.every(isSpace)) {
        prev.del.push(...seg.eq, ...next.del);
        prev.ins.push(...seg.eq, ...next.ins);
        i++;
        continue;
      }
      if (!seg.eq && prev && !prev.eq) {
        prev.del.push(...seg.del);
        prev.ins.push(...seg.ins);
        continue;
      }
      merged.push(seg);
    }
    return { segments: merged, coarse };
  }

  // ---------------------------------------------------------------------------
  // Refine page
  // ---------------------------------------------------------------------------

  function setupLiveDiff(textarea, draftText) {
    const out = byId("live-diff");
    if (!out || !textarea) return;
    const draftTokens = tokenize(draftText);

    const stats = el("p", "", "diff-stats");
    stats.id = "diff-stats";
    const body = el("div", null, "diff-body");
    // The container is aria-live; keep the (possibly long) diff body out of the
    // announcements so a screen reader reads the short summary, not the whole draft.
    body.setAttribute("aria-live", "off");

    let timer = 0;
    let lastMs = 0;
    let lastValue = null;

    function render() {
      timer = 0;
      const value = textarea.value;
      if (value === lastValue) return;
      lastValue = value;
      const t0 = performance.now();
      if (value === draftText) {
        stats.textContent = "No change to the draft.";
        stats.className = "diff-stats muted";
        body.replaceChildren();
        out.classList.remove("changed");
        out.replaceChildren(stats);
        lastMs = performance.now() - t0;
        return;
      }
      const { segments, coarse } = diffTokens(draftTokens, tokenize(value));
      const frag = document.createDocumentFragment();
      let added = 0;
      let removed = 0;
      for (const seg of segments) {
        if (seg.eq) {
          frag.appendChild(document.createTextNode(seg.eq.join("")));
          continue;
        }
        if (seg.del.length) {
          removed += countWords(seg.del);
          frag.appendChild(el("del", seg.del.join("")));
        }
        if (seg.ins.length) {
          added += countWords(seg.ins);
          frag.appendChild(el("ins", seg.ins.join("")));
        }
      }
      body.replaceChildren(frag);
      body.classList.toggle("coarse", coarse);
      stats.className = "diff-stats";
      stats.textContent = `+${added} / \u2212${removed} words` + (coarse ? " (large change: shown as one block)" : "");
      out.classList.add("changed");
      if (out.firstChild !== stats || stats.nextSibling !== body || out.childNodes.length !== 2) {
        out.replaceChildren(stats, body);
      }
      lastMs = performance.now() - t0;
      out.dataset.diffMs = lastMs.toFixed(1);
    }

    textarea.addEventListener("input", () => {
      if (timer) clearTimeout(timer);
      // ~100 ms, longer if the last diff was slow, so typing never queues up work.
      timer = setTimeout(render, Math.max(100, Math.min(1000, lastMs * 3)));
    });
    // Back/forward navigation can restore an edited textarea without an input event.
    window.addEventListener("pageshow", render);
    render();
  }

  function setupDecisionSwitch(textarea) {
    if (!textarea) return;
    textarea.addEventListener("input", () => {
      const radios = radiosNamed("decision");
      if (!radios.length) return;
      const checked = radios.find((r) => r.checked);
      if (checked && (checked.value === "edit" || checked.value === "rewrite")) return;
      checkRadio(radios.find((r) => r.value === "edit"));
    });
  }

  // Mirror radio state onto labels and finding cards as classes, for browsers
  // without :has() (the CSS uses both).
  function setupCheckedClasses() {
    const sync = (name) => {
      for (const radio of radiosNamed(name)) {
        for (const label of radio.labels || []) label.classList.toggle("is-checked", radio.checked);
      }
    };
    const syncFinding = (fieldset) => {
      const checked = fieldset.querySelector("input[type=radio]:checked");
      const value = checked ? checked.value : "";
      fieldset.classList.toggle("verdict-right", value === "right");
      fieldset.classList.toggle("verdict-wrong", value === "wrong");
    };
    const names = new Set(Array.from(document.querySelectorAll("input[type=radio]"), (r) => r.name).filter(Boolean));
    names.forEach(sync);
    document.querySelectorAll("fieldset.finding").forEach(syncFinding);
    document.addEventListener("change", (event) => {
      const target = event.target;
      if (!(target instanceof HTMLInputElement) || target.type !== "radio") return;
      sync(target.name);
      const fieldset = target.closest("fieldset.finding");
      if (fieldset) syncFinding(fieldset);
    });
  }

  function setupTags() {
    const input = byId("tags");
    const list = byId("tag-options");
    if (!input || !list) return;
    const taxonomy = [];
    const seen = new Set();
    for (const option of list.querySelectorAll("option")) {
      const value = option.value.trim();
      if (!value || seen.has(value.toLowerCase())) continue;
      seen.add(value.toLowerCase());
      const label = option.label && option.label !== option.value ? option.label : "";
      taxonomy.push({ value, lower: value.toLowerCase(), label });
    }
    if (!taxonomy.length) return;
    const original = Array.from(list.children, (node) => node.cloneNode(true));
    const MAX_OPTIONS = 200;

    function update() {
      const text = input.value;
      if (!text.trim()) {
        list.replaceChildren(...original.map((node) => node.cloneNode(true)));
        return;
      }
      const comma = text.lastIndexOf(",");
      const head = text.slice(0, comma + 1);
      const last = text.slice(comma + 1);
      const lead = last.length - last.trimStart().length;
      // Everything up to the last tag stays exactly as typed.
      const prefix = head + last.slice(0, lead);
      const partial = last.trim().toLowerCase();
      const typed = new Set(
        head
          .split(",")
          .map((t) => t.trim().toLowerCase())
          .filter(Boolean),
      );
      const starts = [];
      const contains = [];
      for (const tag of taxonomy) {
        if (typed.has(tag.lower)) continue;
        if (!partial || tag.lower.startsWith(partial)) starts.push(tag);
        else if (tag.lower.includes(partial)) contains.push(tag);
      }
      const options = starts.concat(contains).slice(0, MAX_OPTIONS).map((tag) => {
        const option = document.createElement("option");
        option.value = prefix + tag.value;
        if (tag.label) option.label = tag.label;
        return option;
      });
      list.replaceChildren(...options);
    }

    input.addEventListener("input", update);
    input.addEventListener("focus", update);
  }

  function parseUtc(text) {
    if (!text) return NaN;
    let s = text.trim().replace(" ", "T");
    // Python's isoformat may carry microseconds; Date.parse only promises milliseconds.
    s = s.replace(/(\.\d{3})\d+/, "$1");
    if (/T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(s)) s += "Z"; // no zone: the contract says UTC
    return Date.parse(s);
  }

  function setupTimer() {
    const span = byId("timer");
    if (!span) return;
    const start = parseUtc(span.dataset.claimedAt);
    if (Number.isNaN(start)) return;
    const tick = () => {
      const secs = Math.max(0, Math.floor((Date.now() - start) / 1000));
      const text = `${Math.floor(secs / 60)}:${String(secs % 60).padStart(2, "0")}`;
      if (span.textContent !== text) span.textContent = text;
    };
    tick();
    setInterval(tick, 1000);
  }

  // ---------------------------------------------------------------------------
  // The lease on an item: while the page is open, visible and in use, keep holding
  // the item (POST to #lease's data-renew); count down to the lease's end and warn
  // before it, so nobody else is handed the item under a trainer who is working.
  // ---------------------------------------------------------------------------

  const LEASE_WARN_MS = 2 * 60 * 1000;

  function minutesLeft(ms) {
    const secs = Math.max(0, Math.ceil(ms / 1000));
    return `${Math.floor(secs / 60)}:${String(secs % 60).padStart(2, "0")}`;
  }

  function setupLease() {
    const box = byId("lease");
    const form = byId("refine-form");
    if (!box || !form || !box.dataset.renew) return;
    const leaseMs = Number(box.dataset.leaseSeconds) * 1000;
    let skew = 0; // this browser's clock minus the server's
    let until = NaN; // the lease's end, on this browser's clock
    const adopt = (leaseUntil, serverNow) => {
      const end = parseUtc(leaseUntil);
      const now = parseUtc(serverNow);
      if (Number.isNaN(end)) return;
      if (!Number.isNaN(now)) skew = Date.now() - now;
      until = end + skew;
    };
    adopt(box.dataset.leaseUntil, box.dataset.serverNow);
    if (!(leaseMs > 0) || Number.isNaN(until)) return;

    const warnMs = Math.min(LEASE_WARN_MS, leaseMs / 3);
    const every = Math.max(5000, Math.min(60000, leaseMs / 3)); // renew this often while in use
    let lastActive = Date.now();
    let lastRenew = Date.now(); // loading the page renewed it
    let inFlight = false;
    let lost = false;

    // The sentence is announced when it changes; the countdown beside it is not (it changes every second).
    const said = el("span", "", "lease-said");
    said.setAttribute("aria-live", "polite");
    const left = el("strong", "", "lease-left");
    box.replaceChildren(said, " ", left);
    box.removeAttribute("aria-live");

    function show(state, sentence, remaining) {
      const className = state === "ok" ? "lease muted small" : `lease flash ${state}`;
      if (box.className !== className) box.className = className;
      box.dataset.state = state;
      if (said.textContent !== sentence) said.textContent = sentence;
      const time = remaining === undefined ? "" : `${minutesLeft(remaining)} left`;
      if (left.textContent !== time) left.textContent = time;
    }

    function tick() {
      if (lost) return;
      const remaining = until - Date.now();
      if (remaining <= 0) {
        show("error", "Your hold on this item has run out: submitting still works unless someone else has " +
          "taken it. What you typed is kept in this browser tab.");
      } else if (remaining <= warnMs) {
        show("warn", "Your hold on this item ends soon: type or click anywhere on the page to keep it.", remaining);
      } else {
        show("ok", "Held for you while you work on this page:", remaining);
      }
    }

    async function renew() {
      if (lost || inFlight) return;
      inFlight = true;
      lastRenew = Date.now();
      try {
        const body = new FormData();
        const csrf = form.querySelector("input[name=csrf]");
        body.append("csrf", csrf ? csrf.value : "");
        const response = await fetch(box.dataset.renew, {
          method: "POST", body, credentials: "same-origin", redirect: "manual",
          headers: { Accept: "application/json" },
        });
        const json = (response.headers.get("content-type") || "").includes("application/json")
          ? await response.json() : null;
        if (response.ok && json && json.lease_until) {
          adopt(json.lease_until, json.server_now);
        } else if (response.status === 409 || response.status === 404) {
          lost = true;
          show("error", `${(json && json.error) || "This item is no longer yours"}. What you typed is kept ` +
            "in this browser tab: copy it before you leave the page.");
        } // signed out, offline, a server error: the next tick tries again
      } catch (_) {
        /* offline: the next tick tries again */
      } finally {
        inFlight = false;
        tick();
      }
    }

    // Renew only for someone at work: the page visible, and used within the last lease.
    const inUse = () => document.visibilityState === "visible" && Date.now() - lastActive < leaseMs;
    const active = () => {
      lastActive = Date.now();
      // the warning said: do anything to keep it (at most one try every few seconds)
      if (until - Date.now() <= warnMs && Date.now() - lastRenew >= 3000) renew();
    };
    // (not "scroll": a change of layout scrolls too, with nobody there)
    for (const type of ["keydown", "input", "pointerdown", "mousemove", "wheel", "focusin"]) {
      document.addEventListener(type, active, { capture: true, passive: true });
    }
    document.addEventListener("visibilitychange", () => {
      if (inUse() && Date.now() - lastRenew >= every) renew();
    });
    setInterval(() => {
      if (inUse() && Date.now() - lastRenew >= every) renew();
      tick();
    }, 1000);
    tick();
  }

  // ---------------------------------------------------------------------------
  // What the trainer typed, kept in this tab (sessionStorage) until the answer is
  // recorded: a reload or a refused submit never loses it.
  // ---------------------------------------------------------------------------

  const KEPT_PREFIX = "oversight:answer:";

  function storage() {
    try {
      return window.sessionStorage;
    } catch (_) {
      return null; // storage disabled: the page still works, without the kept copy
    }
  }

  function answerOf(form) {
    const fields = {};
    for (const field of Array.from(form.elements)) {
      if (!field.name || field.name === "csrf" || field.type === "hidden") continue;
      if (field.type === "radio") {
        if (field.checked) fields[field.name] = field.value;
      } else if (field.tagName === "TEXTAREA" || (field.tagName === "INPUT" && !NON_TEXT_INPUTS.has(field.type))) {
        fields[field.name] = field.value;
      }
    }
    return fields;
  }

  function putAnswer(form, fields) {
    // text first: typing into the refined text switches the decision, which the kept one then sets back
    const named = (name) => Array.from(form.elements).filter((f) => f.name === name);
    for (const [name, value] of Object.entries(fields)) {
      for (const field of named(name)) {
        if (field.type !== "radio" && field.value !== value) {
          field.value = value;
          field.dispatchEvent(new Event("input", { bubbles: true }));
        }
      }
    }
    for (const [name, value] of Object.entries(fields)) {
      checkRadio(named(name).find((f) => f.type === "radio" && f.value === value));
    }
  }

  function setupKeptAnswer() {
    const form = byId("refine-form");
    const store = storage();
    if (!form || !store) return;
    const key = KEPT_PREFIX + window.location.pathname;
    const save = (submitted) => {
      try {
        store.setItem(key, JSON.stringify({ fields: answerOf(form), submitted, saved: Date.now() }));
      } catch (_) {
        /* full: nothing kept */
      }
    };
    let kept = null;
    try {
      kept = JSON.parse(store.getItem(key) || "null");
    } catch (_) {
      kept = null;
    }
    const fields = kept && kept.fields;
    const shown = answerOf(form);
    // A page sent back with a reason (#answer-error) shows what was just sent: that wins.
    if (fields && !byId("answer-error") && JSON.stringify(fields) !== JSON.stringify(shown)) {
      putAnswer(form, fields);
      const note = el("p", "Restored what you typed on this item before (kept in this browser tab).", "flash ok");
      note.id = "answer-restored";
      note.setAttribute("role", "status");
      form.parentNode.insertBefore(note, form);
    }
    save(false);
    form.addEventListener("input", () => save(false));
    form.addEventListener("change", () => save(false));
    form.addEventListener("submit", () => save(true));
    // Giving the item back forgets what was typed on it.
    document.querySelectorAll("form[data-forget-answer]").forEach((other) => {
      other.addEventListener("submit", () => store.removeItem(key));
    });
  }

  // Any page but the refine view: an answer sent from a refine view landed (a refused one comes back
  // to the refine view), so its kept copy goes.
  function forgetSubmittedAnswers() {
    const store = storage();
    if (!store) return;
    for (let i = store.length - 1; i >= 0; i--) {
      const key = store.key(i);
      if (!key || !key.startsWith(KEPT_PREFIX)) continue;
      try {
        if (JSON.parse(store.getItem(key) || "null").submitted) store.removeItem(key);
      } catch (_) {
        store.removeItem(key);
      }
    }
  }

  function cycleVerdict(n) {
    const fieldset = document.querySelector(`fieldset.finding[data-index="${n - 1}"]`);
    if (!fieldset) return false;
    const radios = radiosNamed(`verdict_${n - 1}`, fieldset);
    if (!radios.length) return false;
    const current = radios.find((r) => r.checked);
    const order = ["", "right", "wrong"];
    const next = order[(order.indexOf(current ? current.value : "") + 1) % order.length];
    const target = radios.find((r) => r.value === next);
    if (target) {
      checkRadio(target);
    } else if (current) {
      // No explicit "unset" radio: clear the group.
      current.checked = false;
      current.dispatchEvent(new Event("change", { bubbles: true }));
    }
    fieldset.scrollIntoView({ block: "nearest" });
    fieldset.classList.remove("flash-key");
    void fieldset.offsetWidth; // restart the highlight animation
    fieldset.classList.add("flash-key");
    return true;
  }

  function focusEnd(field) {
    if (!field) return;
    field.focus();
    if (typeof field.setSelectionRange === "function") {
      const end = field.value.length;
      try {
        field.setSelectionRange(end, end);
      } catch (_) {
        /* input types without a selection */
      }
    }
    if (field.tagName === "TEXTAREA") field.scrollTop = field.scrollHeight;
  }

  function setDecision(value) {
    const radio = radiosNamed("decision").find((r) => r.value === value);
    if (!radio) return false;
    checkRadio(radio);
    return true;
  }

  function refineShortcut(key) {
    const refined = byId("refined-text");
    switch (key) {
      case "a":
        return setDecision("accept");
      case "x":
        return setDecision("reject");
      case "s":
        return setDecision("skip");
      case "e": {
        const done = setDecision("edit");
        if (refined) focusEnd(refined);
        return done || !!refined;
      }
      case "r": {
        const done = setDecision("rewrite");
        if (refined) {
          refined.focus();
          refined.select();
        }
        return done || !!refined;
      }
      case "t":
      case "w": {
        const field = byId(key === "t" ? "tags" : "rationale");
        if (!field) return false;
        focusEnd(field);
        return true;
      }
      case "c": {
        const radios = radiosNamed("confidence");
        const radio = radios.find((r) => r.checked) || radios[0];
        if (!radio) return false;
        radio.focus();
        return true;
      }
      default:
        if (/^[1-9]$/.test(key)) return cycleVerdict(Number(key));
        return false;
    }
  }

  // ---------------------------------------------------------------------------
  // Keyboard
  // ---------------------------------------------------------------------------

  function setupKeyboard(page) {
    let pendingG = 0; // time of a lone "g", for the "g q" sequence

    document.addEventListener("keydown", (event) => {
      if (event.defaultPrevented || event.isComposing || event.keyCode === 229) return;
      const target = event.target;
      const typing = isTypingTarget(target);

      // Ctrl/Meta+Enter submits the refine form from anywhere, fields included.
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && !event.altKey) {
        const form = byId("refine-form");
        if (page === "refine" && form) {
          event.preventDefault();
          if (!event.repeat) submitForm(form);
        }
        return;
      }

      // Enter alone never submits the refine form: a browser submits on Enter in a one-line field
      // (tags) or on a radio, and a stray one recorded half an answer. Only Ctrl+Enter (or the button).
      if (event.key === "Enter" && page === "refine" && target && target.tagName === "INPUT" &&
          target.form && target.form.id === "refine-form" &&
          !["submit", "button", "image", "reset"].includes((target.type || "").toLowerCase())) {
        event.preventDefault();
        return;
      }

      if (event.key === "Escape") {
        if (typing && target.tagName !== "SELECT") {
          target.blur();
          event.preventDefault();
          return;
        }
        const help = byId("shortcuts");
        if (help && help.classList.contains("open")) {
          help.classList.remove("open");
          event.preventDefault();
        }
        return;
      }

      if (typing || event.altKey || event.ctrlKey || event.metaKey) return;

      let key = event.key;
      if (key.length === 1) key = key.toLowerCase();
      // Digits on layouts where they need Shift (AZERTY): the top-row key's code, for a
      // printable key only (a numpad key with NumLock off is "End", "PageDown"... and stays so).
      if (key.length === 1 && key !== "?" && !/^[1-9]$/.test(key) && /^Digit[1-9]$/.test(event.code || "")) {
        key = event.code.slice(-1);
      }

      let handled = false;
      const now = Date.now();
      if (key === "q" && pendingG && now - pendingG <= 1000) {
        pendingG = 0;
        event.preventDefault();
        // The nav's queue link if there is one (the app may live under a prefix), else /queue.
        const isQueue = (a) => /\/queue\/?$/.test(a.pathname);
        const link =
          Array.from(document.querySelectorAll("nav a[href]")).find(isQueue) ||
          Array.from(document.querySelectorAll("a[href]")).find(isQueue);
        window.location.assign(link ? link.href : "/queue");
        return;
      }
      pendingG = 0;

      if (key === "?") {
        const help = byId("shortcuts");
        if (help) {
          help.classList.toggle("open");
          handled = true;
        }
      } else if (key === "g") {
        pendingG = now;
        handled = true;
      } else if (page === "refine") {
        handled = event.repeat ? refineKeyKnown(key) : refineShortcut(key);
      } else if (page === "queue" && key === "n") {
        const form = byId("next-form");
        if (form) {
          if (!event.repeat) submitForm(form);
          handled = true;
        }
      } else if ((page === "skim" || page === "compare") && (key === "j" || key === "k")) {
        const link = document.querySelector(`a[rel~="${key === "j" ? "next" : "prev"}"][href]`);
        if (link) {
          if (!event.repeat) link.click();
          handled = true;
        }
      }
      if (handled) event.preventDefault();
    });
  }

  // For auto-repeat: swallow a held shortcut key without acting again.
  function refineKeyKnown(key) {
    return /^[aexsrtwc1-9]$/.test(key);
  }

  // ---------------------------------------------------------------------------
  // Confirmations: <form data-confirm="..."> (or a submit button with data-confirm)
  // ---------------------------------------------------------------------------

  function setupConfirm() {
    document.addEventListener(
      "submit",
      (event) => {
        const form = event.target;
        if (!(form instanceof HTMLFormElement)) return;
        const submitter = event.submitter;
        const message =
          (submitter && submitter.getAttribute && submitter.getAttribute("data-confirm")) ||
          form.getAttribute("data-confirm");
        if (message && !window.confirm(message)) {
          event.preventDefault();
          event.stopImmediatePropagation();
        }
      },
      true,
    );
  }

  // ---------------------------------------------------------------------------

  // Table rows with data-href open it on a click anywhere in the row (the row's own link is
  // there for keyboards and pages without this file).
  function setupRowLinks() {
    document.addEventListener("click", (event) => {
      const row = event.target instanceof Element ? event.target.closest("tr[data-href]") : null;
      if (!row || event.defaultPrevented || event.button !== 0) return;
      if (event.target.closest("a, button, input, select, textarea, label")) return;
      if (window.getSelection && String(window.getSelection())) return; // selecting text, not opening
      window.location.assign(row.dataset.href);
    });
  }

  function init() {
    const page = (document.body && document.body.dataset.page) || "";
    setupConfirm();
    setupRowLinks();
    setupKeyboard(page);
    if (page === "refine") {
      const textarea = byId("refined-text");
      const draft = byId("draft-text");
      if (textarea) {
        const draftText = draft ? draft.textContent : textarea.defaultValue;
        setupLiveDiff(textarea, draftText);
        setupDecisionSwitch(textarea);
      }
      setupTags();
      setupTimer();
      setupKeptAnswer();
      setupLease();
    } else {
      forgetSubmittedAnswers();
    }
    setupCheckedClasses();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init, { once: true });
  else init();
})();
