/* Rafiq adviser console: the queue, one handoff at a time, and the QA runs.
 *
 * Plain ES2020, no build step, no third-party code: the page runs under a strict
 * Content-Security-Policy (script-src 'self'), so nothing here uses inline handlers or
 * inline style attributes. Customer text is only ever set as textContent; the one
 * innerHTML parses a QA report into an inert document (showReport).
 */
"use strict";

(() => {
  // -- constants -------------------------------------------------------------------

  /** The API lives next to /console/, whatever prefix a proxy mounts the server under. */
  const ROOT = new URL("../", window.location.href).pathname.replace(/\/$/, "");
  const SESSION_KEY = "rafiq.console.session";
  const TAB_KEY = "rafiq.console.tab";
  const TICK_MS = 10000;
  const REFRESH_DEBOUNCE_MS = 250;
  const STREAM_IDLE_MS = 45000;
  const FALLBACK_POLL_MS = 20000;
  const BACKOFF_MAX_MS = 30000;

  const CATEGORY_LABELS = {
    human_request: "Demande de conseiller",
    complaint: "Réclamation",
    billing_anomaly: "Anomalie de facturation",
    payment_difficulty: "Difficulté de paiement",
    cancellation: "Résiliation",
    fraud: "Fraude",
    vulnerability: "Client vulnérable",
    distress: "Détresse",
    legal: "Juridique",
    data_protection: "Données personnelles",
    service_anomaly: "Incident de service",
    no_answer_repeated: "Absence de réponse répétée",
  };
  const PRIORITY_LABELS = { urgent: "Urgente", high: "Haute", normal: "Normale", low: "Basse" };
  const LANGUAGE_LABELS = {
    fr: "français",
    ar: "arabe",
    darija: "darija",
    arabizi: "darija (arabizi)",
    en: "anglais",
  };
  const LANGUAGE_CODES = { fr: "FR", ar: "AR", darija: "DAR", arabizi: "DAR·LAT", en: "EN" };
  const STATUS_LABELS = {
    waiting: "En attente",
    active: "En cours",
    resolved: "Résolue",
    released: "Relâchée",
    cancelled: "Annulée par le client",
  };
  const CONVERSATION_STATUS_LABELS = {
    bot: "avec l'assistant",
    waiting_human: "attend un conseiller",
    human: "avec un conseiller",
    closed: "clôturée",
  };
  const ROLE_LABELS = {
    customer: "Client",
    bot: "Assistant",
    adviser: "Conseiller",
    system: "Système",
  };
  const ACTION_LABELS = {
    welcome: "Accueil",
    clarify: "Demande de précision",
    escalate: "Transfert à un conseiller",
    refuse: "Refus",
  };
  const STAFF_ROLE_LABELS = { adviser: "Conseiller", admin: "Administrateur", qa: "Qualité" };
  const TABS = ["waiting", "active", "resolved"];
  const EMPTY_TABS = {
    waiting: [
      "Aucune demande en attente",
      "Les nouvelles demandes apparaissent ici en temps réel.",
    ],
    active: [
      "Aucune conversation en cours",
      "Prenez en charge une demande en attente pour commencer.",
    ],
    resolved: [
      "Aucune demande terminée",
      "Les demandes résolues, relâchées ou annulées apparaissent ici.",
    ],
  };

  // -- state -----------------------------------------------------------------------

  const state = {
    session: null, // {token, role, myId, tenant}
    lists: { waiting: [], active: [], resolved: [] },
    listsAt: 0, // performance.now() when the lists were fetched
    listsLoaded: false,
    tab: "waiting",
    route: { name: "queue", id: null },
    detail: null,
    detailAt: 0,
    view: null, // the handoff view's elements, kept while the same handoff is open
    unread: new Set(), // conversation ids with customer messages not seen yet
    drafts: new Map(), // handoff id -> {value, touched, applied, clientId}: replies being written
    lostClaims: new Set(), // handoff ids a colleague took before us
    claimedHere: new Set(), // handoff ids claimed from this tab
    skewMs: 0, // server clock minus ours
  };

  // -- small helpers ---------------------------------------------------------------

  const $ = (selector, root = document) => root.querySelector(selector);

  /** h("div", {class: "x", dataset: {a: 1}, onclick: fn}, child, "text", ...) */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") el.className = value;
      else if (key === "dataset") Object.assign(el.dataset, value);
      else if (key === "text") el.textContent = value;
      else if (key.startsWith("on") && typeof value === "function") {
        el.addEventListener(key.slice(2), value);
      } else if (key in el && typeof value !== "string") el[key] = value;
      else el.setAttribute(key, value === true ? "" : String(value));
    }
    append(el, children);
    return el;
  }

  function append(el, children) {
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  function clear(el) {
    while (el.firstChild) el.firstChild.remove();
    return el;
  }

  const ARABIC_LETTER = /[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]/gu;
  const LATIN_LETTER = /[A-Za-z\u00C0-\u024F]/gu;

  /** A message's own direction: rtl when Arabic letters outnumber Latin ones. */
  function textDirection(text) {
    const value = String(text || "");
    const arabic = (value.match(ARABIC_LETTER) || []).length;
    const latin = (value.match(LATIN_LETTER) || []).length;
    if (arabic === latin) {
      const first = value.search(/[A-Za-z\u00C0-\u024F\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF]/u);
      return first >= 0 && /[\u0600-\u08FF]/u.test(value[first]) ? "rtl" : "ltr";
    }
    return arabic > latin ? "rtl" : "ltr";
  }

  /** A reply box as tall as its text, up to a limit. */
  function autosize(textarea) {
    textarea.style.height = "auto";
    const limit = Math.round(window.innerHeight * 0.4);
    textarea.style.height = `${Math.min(textarea.scrollHeight + 2, limit)}px`;
  }

  function setDirection(el, text) {
    const dir = textDirection(text);
    el.dir = dir;
    if (dir === "rtl") el.lang = "ar";
    else el.removeAttribute("lang");
    return dir;
  }

  function categoryLabel(code) {
    return CATEGORY_LABELS[code] || String(code || "—").replace(/_/g, " ");
  }
  const priorityLabel = (code) => PRIORITY_LABELS[code] || code || "—";
  const languageLabel = (code) => LANGUAGE_LABELS[code] || code || "inconnue";

  const serverNow = () => Date.now() + state.skewMs;

  function noteServerDate(response) {
    const header = response.headers.get("date");
    const server = header ? Date.parse(header) : NaN;
    if (Number.isNaN(server)) return;
    const skew = server - Date.now();
    // The Date header has one-second resolution: ignore differences below that.
    state.skewMs = Math.abs(skew) > 2000 ? skew : 0;
  }

  /** "à l'instant", "il y a 3 min", "il y a 1 h 05", "il y a 2 j". */
  function ago(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    if (s < 45) return "à l'instant";
    if (s < 3600) return `il y a ${Math.max(1, Math.round(s / 60))} min`;
    if (s < 86400) {
      const hours = Math.floor(s / 3600);
      const minutes = Math.floor((s % 3600) / 60);
      return `il y a ${hours} h ${String(minutes).padStart(2, "0")}`;
    }
    return `il y a ${Math.floor(s / 86400)} j`;
  }

  function duration(seconds) {
    const s = Math.max(0, Math.round(seconds));
    if (s < 60) return `${s} s`;
    if (s < 3600) return `${Math.round(s / 60)} min`;
    return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}`;
  }

  const TIME = new Intl.DateTimeFormat("fr-FR", { hour: "2-digit", minute: "2-digit" });
  const DATE_TIME = new Intl.DateTimeFormat("fr-FR", {
    day: "numeric",
    month: "short",
    hour: "2-digit",
    minute: "2-digit",
  });

  function clock(iso) {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return "";
    const today = new Date().toDateString() === date.toDateString();
    return today ? TIME.format(date) : DATE_TIME.format(date);
  }

  function fullDate(iso) {
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? "" : DATE_TIME.format(date);
  }

  /** A <time> that the ticker keeps saying "il y a …" about. */
  function liveAgo(iso, prefix = "") {
    const el = h("time", { class: "ago", datetime: iso, title: fullDate(iso) });
    el.dataset.since = String(Date.parse(iso));
    el.dataset.prefix = prefix;
    refreshAgo(el);
    return el;
  }

  function refreshAgo(el) {
    const since = Number(el.dataset.since);
    if (!Number.isFinite(since)) return;
    const seconds = (serverNow() - since) / 1000;
    el.textContent = `${el.dataset.prefix || ""}${ago(seconds)}`;
    if (el.dataset.sla === "1") {
      el.dataset.level = seconds >= 900 ? "late" : seconds >= 300 ? "slow" : "ok";
    }
  }

  function tick() {
    for (const el of document.querySelectorAll("time.ago")) refreshAgo(el);
  }

  function newId(prefix) {
    const random =
      window.crypto && crypto.randomUUID
        ? crypto.randomUUID()
        : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
    return `${prefix}-${random}`;
  }

  // -- API ---------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  async function request(
    path,
    { method = "GET", body, token, accept, headers: extra, signal } = {},
  ) {
    const headers = { Accept: accept || "application/json", ...(extra || {}) };
    const bearer = token || (state.session && state.session.token);
    if (bearer) headers.Authorization = `Bearer ${bearer}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(ROOT + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
        credentials: "omit",
        signal,
      });
    } catch (error) {
      if (error && error.name === "AbortError") throw error;
      throw new ApiError(0, "network", "le serveur ne répond pas");
    }
    noteServerDate(response);
    if (!response.ok) {
      let code = `http_${response.status}`;
      let message = response.statusText || "";
      try {
        const parsed = await response.json();
        if (parsed && parsed.error) {
          code = parsed.error.code || code;
          message = parsed.error.message || message;
        }
      } catch (_) {
        // Not JSON (a proxy's error page): the status says enough.
      }
      throw new ApiError(response.status, code, message);
    }
    return response;
  }

  async function api(path, options) {
    const response = await request(path, options);
    if (response.status === 204) return null;
    const type = response.headers.get("content-type") || "";
    return type.includes("json") ? response.json() : response.text();
  }

  /** French words for an API error; `context` names what was being done. */
  function describe(error, context) {
    if (!(error instanceof ApiError))
      return `${context} : erreur inattendue (${error && error.message}).`;
    const detail = error.message ? ` (${error.message})` : "";
    switch (error.code) {
      case "network":
        return `${context} : le serveur est injoignable. Vérifiez votre connexion puis réessayez.`;
      case "unauthorized":
        return "Jeton inconnu ou révoqué. Vérifiez-le ou demandez-en un nouveau à votre administrateur.";
      case "forbidden":
        return `${context} : votre rôle ne le permet pas.`;
      case "already_claimed":
        return /by you/.test(error.message)
          ? "Vous avez déjà pris cette demande en charge."
          : "Un collègue vient de prendre cette demande en charge. La file a été mise à jour.";
      case "not_waiting":
        return `${context} : cette demande n'est plus en attente (elle a été relâchée, résolue ou annulée).`;
      case "not_claimed":
        return `${context} : prenez d'abord la demande en charge.`;
      case "not_assignee":
        return `${context} : cette demande est suivie par un collègue.`;
      case "not_open":
        return `${context} : cette demande est déjà terminée.`;
      case "invalid_transition":
        return `${context} : impossible dans l'état actuel de la conversation${detail}.`;
      case "not_found":
        return `${context} : demande introuvable. Elle n'existe pas ou ne relève pas de votre organisation.`;
      case "invalid_request":
      case "message_too_long":
        return `${context} : la saisie est invalide${detail}.`;
      case "rate_limited":
        return `${context} : trop de requêtes, réessayez dans quelques secondes.`;
      case "internal_error":
        return `${context} : erreur du serveur. Elle a été journalisée ; réessayez.`;
      default:
        return `${context} : erreur ${error.status || ""} ${error.code}${detail}.`.replace(
          /\s+/g,
          " ",
        );
    }
  }

  /** Shows the error; a dead token ends the session. */
  function fail(error, context) {
    if (error && error.name === "AbortError") return;
    if (error instanceof ApiError && error.code === "not_assignee" && state.detail) {
      state.lostClaims.add(state.detail.id);
    }
    if (error instanceof ApiError && error.status === 401) {
      signOut("Votre session a expiré ou votre jeton a été révoqué. Reconnectez-vous.");
      return;
    }
    toast(describe(error, context), "error");
  }

  // -- toasts ------------------------------------------------------------------------

  function toast(message, kind = "info") {
    const box = $("#toasts");
    const close = h("button", {
      class: "toast__close",
      type: "button",
      "aria-label": "Fermer le message",
      text: "×",
    });
    const el = h(
      "div",
      {
        class: `toast toast--${kind}`,
        role: kind === "error" ? "alert" : "status",
        dataset: { testid: "console-toast", kind },
      },
      h("span", {
        class: "toast__icon",
        "aria-hidden": "true",
        text: kind === "error" ? "!" : kind === "success" ? "✓" : "i",
      }),
      h("p", { class: "toast__text", text: message }),
      close,
    );
    const remove = () => {
      el.classList.add("toast--leaving");
      window.setTimeout(() => el.remove(), 200);
    };
    close.addEventListener("click", remove);
    box.append(el);
    while (box.children.length > 3) box.firstElementChild.remove();
    window.setTimeout(remove, kind === "error" ? 12000 : 4000);
  }

  // -- session -----------------------------------------------------------------------

  function loadSession() {
    try {
      const raw = window.sessionStorage.getItem(SESSION_KEY);
      const value = raw ? JSON.parse(raw) : null;
      return value && typeof value.token === "string" ? value : null;
    } catch (_) {
      return null;
    }
  }

  function saveSession() {
    try {
      if (state.session) window.sessionStorage.setItem(SESSION_KEY, JSON.stringify(state.session));
      else {
        window.sessionStorage.removeItem(SESSION_KEY);
        window.sessionStorage.removeItem(TAB_KEY);
      }
    } catch (_) {
      // Private mode without storage: the session lasts as long as the page.
    }
  }

  /** Also learnt from our own claims and notes (sessions saved before /v1/me). */
  function learnMyId(id) {
    if (!id || !state.session || state.session.myId === id) return;
    state.session.myId = id;
    saveSession();
  }

  /** Who the token belongs to (GET /v1/me): role, id and tenant. */
  async function identify(token) {
    const me = await api("/v1/me", { token });
    return { role: me.role, tenant: me.tenant_display_name || me.tenant, myId: me.user_id };
  }

  const canUseQueue = () => state.session && state.session.role !== "qa";
  const canUseQa = () => state.session && state.session.role !== "adviser";

  async function submitSignIn(event) {
    event.preventDefault();
    const input = $("#signin-token");
    const button = $("#signin-submit");
    const token = input.value.trim();
    if (!token) return signInError("Saisissez votre jeton personnel.");
    if (!token.startsWith("st_")) {
      return signInError("Ce n'est pas un jeton de conseiller : il commence par « st_ ».");
    }
    button.disabled = true;
    button.textContent = "Vérification…";
    signInError(null);
    try {
      const who = await identify(token);
      state.session = { token, role: who.role, tenant: who.tenant, myId: who.myId };
      saveSession();
      input.value = "";
      startApp();
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        signInError(
          "Jeton inconnu ou révoqué. Vérifiez-le ou demandez-en un nouveau à votre administrateur.",
        );
      } else {
        signInError(describe(error, "Connexion impossible"));
      }
      input.focus();
      input.select();
    } finally {
      button.disabled = false;
      button.textContent = "Se connecter";
    }
  }

  function signInError(message) {
    const el = $("#signin-error");
    el.hidden = !message;
    el.textContent = message || "";
    $("#signin-token").setAttribute("aria-invalid", message ? "true" : "false");
  }

  function showSignIn(message) {
    $("#app").hidden = true;
    $("#signin").hidden = false;
    document.title = "Rafiq — Console conseiller";
    signInError(message || null);
    $("#signin-token").focus();
  }

  function signOut(message) {
    stream.stop();
    state.session = null;
    state.lists = { waiting: [], active: [], resolved: [] };
    state.listsLoaded = false;
    state.detail = null;
    state.view = null;
    state.unread.clear();
    state.lostClaims.clear();
    state.claimedHere.clear();
    state.drafts.clear();
    state.tab = "waiting";
    saveSession();
    clear($("#main"));
    clear($("#queue-list"));
    if (window.location.hash) history.replaceState(null, "", window.location.pathname);
    showSignIn(message);
  }

  function startApp() {
    const session = state.session;
    $("#signin").hidden = true;
    $("#app").hidden = false;
    $("#nav-qa").hidden = !canUseQa();
    $("#nav-queue").hidden = !canUseQueue();
    const who = [STAFF_ROLE_LABELS[session.role] || "Équipe", session.tenant].filter(Boolean);
    $("#whoami").textContent = who.join(" · ");
    $("#workspace").dataset.queue = canUseQueue() ? "on" : "off";
    $("#live").hidden = !canUseQueue();
    if (canUseQueue()) {
      stream.start();
      refreshLists();
    }
    if (!window.location.hash || window.location.hash === "#") {
      history.replaceState(null, "", canUseQueue() ? "#/queue" : "#/qa");
    }
    route();
  }

  // -- live stream of queue events (fetch + ReadableStream) -------------------------------

  function setLive(mode, text) {
    const el = $("#live");
    el.dataset.state = mode;
    $("#live-text").textContent = text;
  }

  const stream = {
    controller: null,
    lastId: null,
    attempt: 0,
    timer: null,
    idle: null,
    poll: null,
    running: false,

    start() {
      this.running = true;
      this.lastId = null;
      this.attempt = 0;
      this.connect();
    },

    stop() {
      this.running = false;
      if (this.controller) this.controller.abort();
      this.controller = null;
      window.clearTimeout(this.timer);
      window.clearTimeout(this.idle);
      window.clearInterval(this.poll);
      this.poll = null;
    },

    /** Nothing heard for too long (a proxy dropped the connection silently): reconnect. */
    touch() {
      window.clearTimeout(this.idle);
      this.idle = window.setTimeout(() => {
        if (this.controller) this.controller.abort();
      }, STREAM_IDLE_MS);
    },

    async connect() {
      if (!this.running) return;
      const controller = new AbortController();
      this.controller = controller;
      setLive("connecting", this.attempt ? "Reconnexion…" : "Connexion…");
      // Resuming after the last event seen replays whatever happened meanwhile.
      const headers = this.lastId === null ? {} : { "Last-Event-ID": this.lastId };
      let failure = null;
      try {
        const response = await request("/v1/handoffs/events", {
          accept: "text/event-stream",
          headers,
          signal: controller.signal,
        });
        await this.read(response, controller);
      } catch (error) {
        failure = error;
      }
      this.after(controller, failure);
    },

    after(controller, failure) {
      if (this.controller !== controller || !this.running) return;
      window.clearTimeout(this.idle);
      if (failure instanceof ApiError && failure.status === 401) {
        signOut("Votre session a expiré ou votre jeton a été révoqué. Reconnectez-vous.");
        return;
      }
      if (failure instanceof ApiError && failure.status === 403) {
        setLive("off", "Temps réel refusé pour votre rôle");
        return;
      }
      this.attempt += 1;
      const base = Math.min(BACKOFF_MAX_MS, 1000 * 2 ** Math.min(this.attempt - 1, 5));
      const delay = Math.round(base * (0.75 + Math.random() * 0.5));
      setLive("offline", `Hors ligne — nouvelle tentative dans ${Math.ceil(delay / 1000)} s`);
      if (!this.poll) this.poll = window.setInterval(() => refreshLists(), FALLBACK_POLL_MS);
      this.timer = window.setTimeout(() => this.connect(), delay);
    },

    async read(response, controller) {
      setLive("live", "En direct");
      window.clearInterval(this.poll);
      this.poll = null;
      this.touch();
      // Whatever happened while we were not listening: the lists are fetched again.
      refreshLists();
      if (state.detail) loadDetail(state.detail.id);
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      const connectedAt = Date.now();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        this.touch();
        if (this.attempt && Date.now() - connectedAt > 5000) {
          this.attempt = 0; // a connection that lasted is a healthy server again
        }
        buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          this.dispatch(block);
        }
      }
      if (controller.signal.aborted) throw new DOMException("aborted", "AbortError");
    },

    dispatch(block) {
      let type = "message";
      let id = null;
      const data = [];
      for (const line of block.split("\n")) {
        if (!line || line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") type = value;
        else if (field === "data") data.push(value);
        else if (field === "id") id = value;
      }
      if (id !== null) this.lastId = id;
      if (!data.length) return;
      let payload;
      try {
        payload = JSON.parse(data.join("\n"));
      } catch (_) {
        return;
      }
      onEvent(type, payload);
    },
  };

  function onEvent(type, payload) {
    const open = state.detail;
    const conversation = payload.conversation_id;
    if (type === "handoff") {
      scheduleListRefresh();
      const handoff = payload.handoff || {};
      if (open && handoff.id === open.id) scheduleDetailRefresh();
      if (payload.action === "created" && handoff.priority === "urgent") {
        toast(`Nouvelle demande urgente : ${categoryLabel(handoff.category)}.`, "info");
      }
    } else if (type === "status") {
      if (payload.handoff_id) scheduleListRefresh();
      if (open && conversation === open.conversation_id) scheduleDetailRefresh();
    } else if (type === "message") {
      const message = payload.message || {};
      if (open && conversation === open.conversation_id) {
        addTranscriptMessage(message, true);
      } else if (message.role === "customer" && handoffOfConversation(conversation)) {
        state.unread.add(conversation);
        renderQueue();
      }
    } else if (type === "note") {
      if (open && conversation === open.conversation_id && payload.note) addNote(payload.note);
    }
  }

  function handoffOfConversation(conversationId) {
    for (const tab of ["waiting", "active"]) {
      const found = state.lists[tab].find((item) => item.conversation_id === conversationId);
      if (found) return found;
    }
    return null;
  }

  // -- queue -------------------------------------------------------------------------

  let listTimer = null;
  let listsInFlight = null;
  let listsAgain = false;

  function scheduleListRefresh() {
    window.clearTimeout(listTimer);
    listTimer = window.setTimeout(refreshLists, REFRESH_DEBOUNCE_MS);
  }

  async function refreshLists() {
    if (!canUseQueue()) return;
    if (listsInFlight) {
      listsAgain = true;
      return listsInFlight;
    }
    listsInFlight = (async () => {
      try {
        const results = await Promise.all(
          TABS.map((tab) => api(`/v1/handoffs?status=${tab}`).then((body) => body.handoffs || [])),
        );
        TABS.forEach((tab, i) => {
          state.lists[tab] = results[i];
        });
        state.listsAt = performance.now();
        state.listsLoaded = true;
        renderQueue();
      } catch (error) {
        fail(error, "Mise à jour de la file");
      } finally {
        listsInFlight = null;
        if (listsAgain) {
          listsAgain = false;
          refreshLists();
        }
      }
    })();
    return listsInFlight;
  }

  function isMine(item) {
    const me = state.session && state.session.myId;
    return Boolean(me && item.assignee_id === me);
  }

  /** When the handoff arrived, on the server's clock, without trusting ours. */
  function arrival(item) {
    if (item.status === "waiting" && typeof item.waiting_seconds === "number") {
      const elapsed = state.listsAt ? performance.now() - state.listsAt : 0;
      return new Date(serverNow() - item.waiting_seconds * 1000 - elapsed).toISOString();
    }
    return item.created_at;
  }

  function renderQueue() {
    const list = $("#queue-list");
    const tab = state.tab;
    for (const name of TABS) {
      const button = $(`#tab-${name}`);
      const selected = name === tab;
      button.setAttribute("aria-selected", String(selected));
      button.tabIndex = selected ? 0 : -1;
      const count = state.lists[name].length;
      const badge = $(`[data-count="${name}"]`);
      badge.textContent = String(count);
      badge.dataset.empty = count ? "0" : "1";
    }
    list.setAttribute("aria-labelledby", `tab-${tab}`);
    list.setAttribute("aria-busy", String(!state.listsLoaded));
    const waiting = state.lists.waiting.length;
    const hint = $("#welcome-hint");
    if (hint) hint.textContent = welcomeHint();
    document.title = waiting
      ? `(${waiting}) Rafiq — Console conseiller`
      : "Rafiq — Console conseiller";

    const focusedId =
      document.activeElement && list.contains(document.activeElement)
        ? document.activeElement.dataset.handoffId
        : null;
    clear(list);
    if (!state.listsLoaded) {
      list.append(h("p", { class: "queue__loading", text: "Chargement de la file…" }));
      return;
    }
    let items = state.lists[tab];
    if (!items.length) {
      const [title, hint] = EMPTY_TABS[tab];
      list.append(
        h(
          "div",
          { class: "empty empty--small" },
          h("p", { class: "empty__title", text: title }),
          h("p", { class: "empty__hint", text: hint }),
        ),
      );
      return;
    }
    const ul = h("ul", {
      class: "queue__list",
      "aria-label": $(`#tab-${tab}`).firstChild.textContent.trim(),
    });
    if (tab === "active") {
      const mine = items.filter(isMine);
      const others = items.filter((item) => !isMine(item));
      if (mine.length && others.length) {
        ul.append(
          h("li", { class: "queue__group", role: "presentation", text: "Mes conversations" }),
        );
        mine.forEach((item) => ul.append(queueItem(item)));
        ul.append(
          h("li", { class: "queue__group", role: "presentation", text: "Chez mes collègues" }),
        );
        others.forEach((item) => ul.append(queueItem(item)));
        items = [];
      }
    }
    items.forEach((item) => ul.append(queueItem(item)));
    list.append(ul);
    if (focusedId) {
      const again = list.querySelector(`[data-handoff-id="${CSS.escape(focusedId)}"]`);
      if (again) again.focus();
    }
  }

  function queueItem(item) {
    const selected = state.route.name === "handoff" && state.route.id === item.id;
    const unread = state.unread.has(item.conversation_id);
    let when;
    if (item.status === "waiting") {
      when = liveAgo(arrival(item));
      when.dataset.sla = "1";
      refreshAgo(when);
    } else if (item.status === "active") {
      when = liveAgo(item.claimed_at || item.updated_at);
    } else {
      when = liveAgo(item.resolved_at || item.updated_at);
    }
    const owner =
      item.status === "active"
        ? isMine(item)
          ? h("span", { class: "chip chip--mine", text: "Vous" })
          : state.session.myId || state.lostClaims.has(item.id)
            ? h("span", { class: "chip chip--muted", text: "Un collègue" })
            : null
        : item.status !== "waiting"
          ? h("span", {
              class: `chip chip--status chip--${item.status}`,
              text: STATUS_LABELS[item.status] || item.status,
            })
          : null;
    const link = h(
      "a",
      {
        class: `queue-item queue-item--${item.priority}${selected ? " is-selected" : ""}${unread ? " is-unread" : ""}`,
        href: `#/handoff/${encodeURIComponent(item.id)}`,
        "aria-current": selected ? "true" : null,
        dataset: {
          testid: "queue-item",
          handoffId: item.id,
          priority: item.priority,
          category: item.category,
          language: item.language,
          status: item.status,
        },
      },
      h(
        "span",
        { class: "queue-item__top" },
        h("span", { class: "queue-item__category", text: categoryLabel(item.category) }),
        when,
      ),
      h("span", { class: "queue-item__reason", text: item.reason || item.summary || "" }),
      h(
        "span",
        { class: "queue-item__meta" },
        h("span", { class: `badge badge--${item.priority}`, text: priorityLabel(item.priority) }),
        h(
          "span",
          { class: "lang", title: `Langue du client : ${languageLabel(item.language)}` },
          h("span", {
            class: "lang__code",
            text: LANGUAGE_CODES[item.language] || String(item.language || "?").toUpperCase(),
          }),
          h("span", { class: "lang__name", text: languageLabel(item.language) }),
        ),
        unread ? h("span", { class: "chip chip--unread", text: "Nouveau message" }) : null,
        owner,
      ),
    );
    return h("li", { class: "queue__entry" }, link);
  }

  function selectTab(name, focus) {
    if (!TABS.includes(name)) return;
    state.tab = name;
    try {
      window.sessionStorage.setItem(TAB_KEY, name);
    } catch (_) {
      // no storage: the tab is remembered for this page only
    }
    renderQueue();
    if (focus) $(`#tab-${name}`).focus();
  }

  function onTabKey(event) {
    const index = TABS.indexOf(state.tab);
    const moves = { ArrowRight: 1, ArrowLeft: -1, Home: -index, End: TABS.length - 1 - index };
    if (!(event.key in moves)) return;
    event.preventDefault();
    selectTab(TABS[(index + moves[event.key] + TABS.length) % TABS.length], true);
  }

  // -- routing -------------------------------------------------------------------------

  function parseHash() {
    const hash = window.location.hash.replace(/^#\/?/, "");
    const [name, id] = hash.split("/");
    if (name === "handoff" && id) return { name: "handoff", id: decodeURIComponent(id) };
    if (name === "qa") return { name: "qa", id: null };
    return { name: "queue", id: null };
  }

  function route() {
    if (!state.session) return;
    const next = parseHash();
    const previous = state.route;
    state.route = next;
    $("#workspace").dataset.page = next.name;
    $("#nav-queue").setAttribute("aria-current", next.name !== "qa" ? "page" : "false");
    $("#nav-qa").setAttribute("aria-current", next.name === "qa" ? "page" : "false");
    if (next.name === "qa") {
      state.detail = null;
      state.view = null;
      renderQa();
      return;
    }
    if (!canUseQueue()) {
      state.detail = null;
      state.view = null;
      renderForbiddenQueue();
      return;
    }
    if (next.name === "handoff") {
      if (previous.name !== "handoff" || previous.id !== next.id || !state.view) {
        state.detail = null;
        state.view = null;
        renderHandoffLoading();
      }
      loadDetail(next.id);
    } else {
      state.detail = null;
      state.view = null;
      renderWelcome();
    }
    renderQueue();
  }

  function welcomeHint() {
    if (!state.listsLoaded) return "Chargement de la file…";
    return state.lists.waiting.length
      ? "Les demandes en attente sont classées par priorité puis par ancienneté : commencez par le haut de la file."
      : "Aucune demande en attente pour l'instant. La file se met à jour toute seule.";
  }

  function renderWelcome() {
    const main = clear($("#main"));
    main.append(
      h(
        "section",
        { class: "empty empty--page", "aria-labelledby": "welcome-title" },
        h(
          "div",
          { class: "empty__art", "aria-hidden": "true" },
          h("span", { class: "empty__bubble" }),
          h("span", { class: "empty__bubble empty__bubble--alt" }),
        ),
        h("h1", { id: "welcome-title", class: "empty__title", text: "Sélectionnez une demande" }),
        h("p", { id: "welcome-hint", class: "empty__hint", text: welcomeHint() }),
        h(
          "ul",
          { class: "shortcuts", "aria-label": "Raccourcis clavier" },
          h("li", {}, h("kbd", { text: "Tab" }), " parcourir la file"),
          h("li", {}, h("kbd", { text: "←" }), h("kbd", { text: "→" }), " changer d'onglet"),
          h(
            "li",
            {},
            h("kbd", { text: "Ctrl" }),
            "+",
            h("kbd", { text: "Entrée" }),
            " envoyer la réponse",
          ),
        ),
      ),
    );
  }

  function renderForbiddenQueue() {
    const main = clear($("#main"));
    main.append(
      h(
        "section",
        { class: "empty empty--page", role: "alert" },
        h("h1", { class: "empty__title", text: "Accès à la file refusé" }),
        h("p", {
          class: "empty__hint",
          text: "Votre rôle (qualité) ne permet pas de traiter les demandes des clients. La file est réservée aux conseillers et aux administrateurs.",
        }),
        h("a", { class: "button button--primary", href: "#/qa", text: "Aller à la page Qualité" }),
      ),
    );
  }

  // -- handoff view ------------------------------------------------------------------------

  function renderHandoffLoading() {
    const main = clear($("#main"));
    main.append(h("div", { class: "loading", role: "status", text: "Chargement de la demande…" }));
  }

  let detailTimer = null;
  function scheduleDetailRefresh() {
    window.clearTimeout(detailTimer);
    detailTimer = window.setTimeout(() => {
      if (state.detail) loadDetail(state.detail.id);
    }, REFRESH_DEBOUNCE_MS);
  }

  let detailSeq = 0;
  async function loadDetail(id) {
    const seq = ++detailSeq;
    try {
      const detail = await api(`/v1/handoffs/${encodeURIComponent(id)}`);
      if (seq !== detailSeq || state.route.name !== "handoff" || state.route.id !== id) return;
      const before = state.detail;
      if (
        before &&
        before.id === id &&
        before.status === "waiting" &&
        detail.status === "active" &&
        !state.claimedHere.has(id)
      ) {
        // Taken while we were looking at it, and not by this tab: a colleague has it.
        state.lostClaims.add(id);
      }
      state.detail = detail;
      state.detailAt = performance.now();
      state.unread.delete(detail.conversation_id);
      renderHandoff(detail);
    } catch (error) {
      if (seq !== detailSeq || state.route.id !== id) return;
      if (error instanceof ApiError && error.status === 404) {
        state.detail = null;
        state.view = null;
        const main = clear($("#main"));
        main.append(
          h(
            "section",
            { class: "empty empty--page", role: "alert" },
            h("h1", { class: "empty__title", text: "Demande introuvable" }),
            h("p", {
              class: "empty__hint",
              text: "Elle n'existe pas ou ne relève pas de votre organisation.",
            }),
            h("a", { class: "button", href: "#/queue", text: "Retour à la file" }),
          ),
        );
        return;
      }
      fail(error, "Chargement de la demande");
    }
  }

  /** What the signed-in user may do with this handoff right now. */
  function permissions(detail) {
    const role = state.session.role;
    const me = state.session.myId;
    const heldByOther =
      detail.status === "active" &&
      role !== "admin" &&
      ((me && detail.assignee_id && detail.assignee_id !== me) ||
        (!me && state.lostClaims.has(detail.id)));
    const acting = detail.status === "active" && !heldByOther;
    return {
      heldByOther,
      claim: detail.status === "waiting",
      release: (detail.status === "waiting" || detail.status === "active") && !heldByOther,
      reply: acting,
      note: true, // the team's notes stay open, before, during and after the handoff
      resolve: acting,
    };
  }

  function field(label, valueEl, testid) {
    if (testid) valueEl.dataset.testid = testid;
    return h(
      "div",
      { class: "facts__row" },
      h("dt", { class: "facts__label", text: label }),
      h("dd", { class: "facts__value" }, valueEl),
    );
  }

  function block(label, valueEl, testid) {
    valueEl.dataset.testid = testid;
    return h(
      "div",
      { class: "fact-block" },
      h("h3", { class: "fact-block__label", text: label }),
      valueEl,
    );
  }

  function buildHandoffView() {
    const v = {};
    v.title = h("h1", { class: "conv-head__title", id: "handoff-title" });
    v.status = h("span", { class: "status-pill" });
    v.subtitle = h("p", { class: "conv-head__subtitle" });
    v.claim = h("button", {
      class: "button button--primary",
      type: "button",
      dataset: { testid: "handoff-claim" },
      text: "Prendre en charge",
    });
    v.release = h("button", {
      class: "button",
      type: "button",
      dataset: { testid: "handoff-release" },
      title: "La conversation repart vers l'assistant, sans résolution.",
      text: "Relâcher",
    });
    v.banner = h("div", { class: "banner", role: "status", hidden: true });

    v.transcript = h("ol", {
      class: "transcript",
      dataset: { testid: "transcript" },
      "aria-label": "Historique de la conversation (données sensibles masquées)",
      tabindex: "0",
    });
    v.transcriptIds = new Set();
    v.newMessages = h("button", {
      class: "new-messages",
      type: "button",
      hidden: true,
      text: "Nouveaux messages ↓",
    });
    v.newMessages.addEventListener("click", () => scrollTranscript(true));
    v.transcriptWrap = h("div", { class: "transcript-wrap" }, v.transcript, v.newMessages);
    v.transcript.addEventListener("scroll", () => {
      if (nearBottom(v.transcript)) v.newMessages.hidden = true;
    });

    v.reply = h("textarea", {
      id: "reply-text",
      class: "textarea composer__input",
      rows: 4,
      maxlength: 4000,
      dataset: { testid: "reply-text" },
      "aria-describedby": "reply-hint",
      placeholder: "Votre réponse au client…",
    });
    v.replyHint = h("p", { id: "reply-hint", class: "composer__hint" });
    v.replySuggestion = h("button", {
      class: "link-button",
      type: "button",
      text: "Rétablir la suggestion",
      hidden: true,
    });
    v.replySend = h("button", {
      class: "button button--primary",
      type: "button",
      dataset: { testid: "reply-send" },
      text: "Envoyer au client",
    });
    v.replyState = { value: "", touched: false, applied: null, clientId: newId("console") };
    v.reply.addEventListener("input", () => {
      v.replyState.touched = v.reply.value !== v.replyState.applied;
      v.replyState.clientId = newId("console");
      v.replyState.value = v.reply.value;
      if (v.id) state.drafts.set(v.id, v.replyState);
      setDirection(v.reply, v.reply.value);
      autosize(v.reply);
      updateComposer();
    });
    v.reply.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        sendReply();
      }
    });
    v.replySuggestion.addEventListener("click", () => {
      const suggestion = state.detail && state.detail.suggested_reply;
      if (!suggestion) return;
      v.reply.value = suggestion;
      v.replyState.applied = suggestion;
      v.replyState.touched = false;
      setDirection(v.reply, suggestion);
      autosize(v.reply);
      updateComposer();
      v.reply.focus();
    });
    v.replySend.addEventListener("click", sendReply);
    v.claim.addEventListener("click", claim);
    v.release.addEventListener("click", release);

    v.composer = h(
      "section",
      { class: "composer", "aria-labelledby": "reply-label" },
      h(
        "div",
        { class: "composer__head" },
        h("label", {
          id: "reply-label",
          class: "composer__label",
          for: "reply-text",
          text: "Réponse au client",
        }),
        v.replySuggestion,
      ),
      v.reply,
      h(
        "div",
        { class: "composer__foot" },
        v.replyHint,
        h(
          "span",
          { class: "composer__keys", "aria-hidden": "true" },
          h("kbd", { text: "Ctrl" }),
          "+",
          h("kbd", { text: "Entrée" }),
        ),
        v.replySend,
      ),
    );

    // Right panel
    v.reason = h("p", { class: "facts__text" });
    v.summary = h("p", { class: "facts__text summary", dir: "auto" });
    v.category = h("span");
    v.priority = h("span", { class: "badge" });
    v.language = h("span");
    v.waiting = h("span");
    v.conversationStatus = h("span");
    v.reference = h("span", { class: "mono" });
    v.citations = h("div", { class: "citations", dataset: { testid: "handoff-citations" } });

    v.notes = h("ol", { class: "notes", "aria-label": "Notes internes" });
    v.noteIds = new Set();
    v.note = h("textarea", {
      id: "note-text",
      class: "textarea",
      rows: 2,
      maxlength: 4000,
      dataset: { testid: "note-text" },
      placeholder: "Visible uniquement par l'équipe…",
    });
    v.noteSend = h("button", {
      class: "button button--small",
      type: "button",
      dataset: { testid: "note-send" },
      text: "Ajouter la note",
    });
    v.noteSend.addEventListener("click", sendNote);
    v.note.addEventListener("input", updateComposer);
    v.note.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        sendNote();
      }
    });

    v.resolution = h("textarea", {
      id: "resolve-text",
      class: "textarea",
      rows: 2,
      maxlength: 4000,
      dataset: { testid: "resolve-text" },
      placeholder: "Ce qui a été fait (avoir émis, carte opposée…)",
    });
    v.toBot = h("input", {
      type: "radio",
      name: "resolve-next",
      id: "resolve-bot",
      value: "bot",
      checked: true,
      dataset: { testid: "resolve-return-to-bot" },
    });
    v.toClose = h("input", {
      type: "radio",
      name: "resolve-next",
      id: "resolve-close",
      value: "close",
      dataset: { testid: "resolve-close" },
    });
    v.resolveSend = h("button", {
      class: "button button--success button--block",
      type: "button",
      dataset: { testid: "resolve-send" },
      text: "Résoudre la demande",
    });
    v.resolveSend.addEventListener("click", resolve);
    v.resolveForm = h(
      "div",
      { class: "resolve" },
      h("label", { class: "field__label", for: "resolve-text", text: "Résolution (interne)" }),
      v.resolution,
      h(
        "fieldset",
        { class: "choices" },
        h("legend", { class: "field__label", text: "Ensuite" }),
        h(
          "label",
          { class: "choice", for: "resolve-bot" },
          v.toBot,
          h(
            "span",
            {},
            h("strong", { text: "Rendre la main à l'assistant" }),
            h("small", { text: "Le client peut continuer avec l'assistant." }),
          ),
        ),
        h(
          "label",
          { class: "choice", for: "resolve-close" },
          v.toClose,
          h(
            "span",
            {},
            h("strong", { text: "Clôturer la conversation" }),
            h("small", { text: "Le client devra en ouvrir une nouvelle." }),
          ),
        ),
      ),
      v.resolveSend,
    );
    v.outcome = h("div", { class: "outcome", hidden: true });

    v.root = h(
      "div",
      { class: "handoff", dataset: { testid: "handoff-view" }, "aria-labelledby": "handoff-title" },
      h(
        "section",
        { class: "conversation", "aria-label": "Conversation" },
        h(
          "header",
          { class: "conv-head" },
          h("div", { class: "conv-head__main" }, v.title, v.subtitle),
          h("div", { class: "conv-head__actions" }, v.release, v.claim),
        ),
        v.banner,
        v.transcriptWrap,
        v.composer,
      ),
      h(
        "aside",
        { class: "details", "aria-label": "Détails de la demande" },
        h(
          "section",
          { class: "panel" },
          h("h2", { class: "panel__title", text: "Demande" }),
          block("Motif", v.reason, "handoff-reason"),
          block("Résumé pour le conseiller", v.summary, "handoff-summary"),
          h(
            "dl",
            { class: "facts" },
            field("Catégorie", v.category, "handoff-category"),
            field("Priorité", v.priority, "handoff-priority"),
            field("Langue du client", v.language, "handoff-language"),
            field("Attente", v.waiting),
            field("Conversation", v.conversationStatus),
            field("Référence", v.reference),
          ),
        ),
        h(
          "section",
          { class: "panel" },
          h("h2", { class: "panel__title", text: "Sources citées par l'assistant" }),
          v.citations,
        ),
        h(
          "section",
          { class: "panel" },
          h(
            "h2",
            { class: "panel__title" },
            "Notes internes ",
            h("span", { class: "panel__hint", text: "jamais montrées au client" }),
          ),
          v.notes,
          h("label", { class: "visually-hidden", for: "note-text", text: "Nouvelle note interne" }),
          v.note,
          h("div", { class: "panel__actions" }, v.noteSend),
        ),
        h(
          "section",
          { class: "panel" },
          h("h2", { class: "panel__title", text: "Clôture" }),
          v.resolveForm,
          v.outcome,
        ),
      ),
    );
    return v;
  }

  function renderHandoff(detail) {
    let v = state.view;
    if (!v || v.id !== detail.id) {
      v = buildHandoffView();
      v.id = detail.id;
      state.view = v;
      clear($("#main")).append(v.root);
      // A reply started on this handoff earlier is still there.
      const draft = state.drafts.get(detail.id);
      if (draft) {
        v.replyState = draft;
        v.reply.value = draft.value || "";
        setDirection(v.reply, v.reply.value);
      }
    }
    const can = permissions(detail);
    v.root.dataset.status = detail.status;
    v.root.dataset.handoffId = detail.id;

    v.title.textContent = categoryLabel(detail.category);
    v.status.textContent = STATUS_LABELS[detail.status] || detail.status;
    v.status.dataset.status = detail.status;
    clear(v.subtitle).append(
      v.status,
      h("span", {
        class: `badge badge--${detail.priority}`,
        text: `Priorité ${priorityLabel(detail.priority).toLowerCase()}`,
      }),
      h("span", { class: "dot-sep", "aria-hidden": "true", text: "·" }),
      `Client ${languageLabel(detail.language)}`,
      h("span", { class: "dot-sep", "aria-hidden": "true", text: "·" }),
      liveAgo(detail.created_at),
    );

    v.claim.hidden = !can.claim;
    v.claim.disabled = !can.claim;
    v.release.hidden =
      !(detail.status === "waiting" || detail.status === "active") || can.heldByOther;
    v.release.disabled = !can.release;

    const banner = bannerFor(detail, can);
    v.banner.hidden = !banner;
    if (banner) {
      v.banner.dataset.kind = banner.kind;
      append(clear(v.banner), [h("p", { text: banner.text })]);
    }

    // Facts
    v.reason.textContent = detail.reason || "—";
    v.summary.textContent = detail.summary || "—";
    v.category.textContent = categoryLabel(detail.category);
    v.category.dataset.value = detail.category;
    v.priority.textContent = priorityLabel(detail.priority);
    v.priority.className = `badge badge--${detail.priority}`;
    v.priority.dataset.value = detail.priority;
    v.language.textContent = languageLabel(detail.language);
    v.language.dataset.value = detail.language;
    clear(v.waiting).append(
      detail.status === "waiting"
        ? liveAgo(new Date(serverNow() - detail.waiting_seconds * 1000).toISOString(), "depuis ")
        : `${duration(detail.waiting_seconds)} avant prise en charge`,
    );
    v.conversationStatus.textContent =
      CONVERSATION_STATUS_LABELS[detail.conversation_status] || detail.conversation_status || "—";
    v.reference.textContent = detail.id;
    renderCitations(v, detail);

    // Transcript: only what is new is added, so the scroll position stays put.
    const first = v.transcriptIds.size === 0;
    for (const message of detail.transcript || []) addTranscriptMessage(message, !first);
    if (first) {
      scrollTranscript(true);
      // Announced from now on: new messages only, not the whole history.
      v.transcript.setAttribute("aria-live", "polite");
      v.transcript.setAttribute("aria-relevant", "additions");
    }

    for (const note of detail.notes || []) addNote(note);
    if (!v.notes.children.length) {
      v.notes.append(h("li", { class: "notes__empty", text: "Aucune note pour l'instant." }));
    }

    // Reply box: the suggestion fills it until the adviser types, including a better
    // suggestion the background job writes later.
    const suggestion = detail.suggested_reply || "";
    if (!v.replyState.touched && suggestion && v.reply.value !== suggestion) {
      v.reply.value = suggestion;
      v.replyState.applied = suggestion;
      setDirection(v.reply, suggestion);
      autosize(v.reply);
    }
    v.reply.disabled = !can.reply;
    v.note.disabled = !can.note;
    v.resolution.disabled = !can.resolve;
    v.toBot.disabled = !can.resolve;
    v.toClose.disabled = !can.resolve;
    v.resolveSend.disabled = !can.resolve;

    const finished = !(detail.status === "waiting" || detail.status === "active");
    v.composer.hidden = finished || can.heldByOther;
    v.resolveForm.hidden = finished;
    v.outcome.hidden = !finished;
    if (finished) {
      clear(v.outcome).append(...outcomeOf(detail));
    }
    updateComposer();
  }

  function bannerFor(detail, can) {
    if (detail.status === "waiting") {
      return {
        kind: "info",
        text: "Ce client attend un conseiller. Prenez la demande en charge pour lui répondre.",
      };
    }
    if (can.heldByOther) {
      return {
        kind: "warning",
        text: "Un collègue suit cette demande : vous pouvez consulter l'historique et ajouter une note interne.",
      };
    }
    if (detail.status === "resolved") {
      return {
        kind: "success",
        text: detail.return_to_bot
          ? "Demande résolue : la conversation a été rendue à l'assistant."
          : "Demande résolue : la conversation est clôturée.",
      };
    }
    if (detail.status === "released")
      return {
        kind: "neutral",
        text: "Demande relâchée : la conversation est repartie vers l'assistant sans résolution.",
      };
    if (detail.status === "cancelled")
      return { kind: "neutral", text: "Le client a annulé sa demande avant la prise en charge." };
    return null;
  }

  function outcomeOf(detail) {
    const rows = [
      h("p", { class: "outcome__status", text: STATUS_LABELS[detail.status] || detail.status }),
    ];
    if (detail.resolved_at)
      rows.push(h("p", { class: "outcome__meta", text: `Le ${fullDate(detail.resolved_at)}` }));
    if (detail.status === "resolved") {
      rows.push(
        h("p", {
          class: "outcome__meta",
          text: detail.return_to_bot ? "Rendue à l'assistant" : "Conversation clôturée",
        }),
      );
    }
    if (detail.resolution)
      rows.push(h("p", { class: "outcome__text", dir: "auto", text: detail.resolution }));
    return rows;
  }

  function renderCitations(v, detail) {
    // The handoff's own citations, then those of every bot answer in the transcript.
    const seen = new Map();
    const add = (citation) => {
      if (!citation) return;
      const key = citation.chunk_id || `${citation.source}|${citation.title}`;
      if (!seen.has(key)) seen.set(key, citation);
    };
    (detail.citations || []).forEach(add);
    for (const message of detail.transcript || []) (message.citations || []).forEach(add);
    clear(v.citations);
    if (!seen.size) {
      v.citations.append(
        h("p", {
          class: "muted",
          text: "L'assistant n'a cité aucune source dans cette conversation.",
        }),
      );
      return;
    }
    const list = h("ul", { class: "citations__list" });
    for (const citation of seen.values()) {
      const title = citation.title || citation.section || citation.source || "Source";
      const score =
        typeof citation.score === "number"
          ? ` · pertinence ${Math.round(citation.score * 100)} %`
          : "";
      list.append(
        h(
          "li",
          { class: "citation" },
          h("span", { class: "citation__title", dir: "auto", text: title }),
          h("span", { class: "citation__source", text: `${citation.source || ""}${score}` }),
        ),
      );
    }
    v.citations.append(list);
  }

  function nearBottom(el) {
    return el.scrollHeight - el.scrollTop - el.clientHeight < 80;
  }

  function scrollTranscript(force) {
    const v = state.view;
    if (!v) return;
    if (force || nearBottom(v.transcript)) {
      v.transcript.scrollTop = v.transcript.scrollHeight;
      v.newMessages.hidden = true;
    }
  }

  function addTranscriptMessage(message, live) {
    const v = state.view;
    if (!v || !message || !message.id || v.transcriptIds.has(message.id)) return;
    v.transcriptIds.add(message.id);
    const role = ROLE_LABELS[message.role] ? message.role : "system";
    const wasNearBottom = nearBottom(v.transcript);
    const item = h("li", {
      class: `msg msg--${role}`,
      dataset: { testid: "transcript-message", role, messageId: message.id },
    });
    setDirection(item, message.text);
    if (role === "system") {
      item.append(
        h(
          "p",
          { class: "msg__system" },
          h("span", { class: "msg__text", text: message.text }),
          h("time", {
            class: "msg__time",
            dir: "ltr",
            datetime: message.created_at,
            text: clock(message.created_at),
          }),
        ),
      );
    } else {
      const who =
        role === "adviser" && message.author
          ? `${ROLE_LABELS.adviser} · ${message.author}`
          : ROLE_LABELS[role];
      const tag =
        role === "bot" && ACTION_LABELS[message.action]
          ? h("span", { class: "msg__tag", text: ACTION_LABELS[message.action] })
          : null;
      const sources = (message.citations || []).length
        ? h(
            "p",
            { class: "msg__sources", dir: "ltr" },
            "Sources : ",
            message.citations.map((c, i) =>
              h("span", {
                class: "msg__source",
                dir: "auto",
                text: `${i ? ", " : ""}${c.title || c.source}`,
              }),
            ),
          )
        : null;
      item.append(
        h(
          "p",
          { class: "msg__meta", dir: "ltr" },
          h("span", { class: "msg__author", text: who }),
          tag,
          h("time", {
            class: "msg__time",
            datetime: message.created_at,
            title: fullDate(message.created_at),
            text: clock(message.created_at),
          }),
        ),
        h(
          "div",
          { class: "msg__bubble" },
          h("p", { class: "msg__text", text: message.text }),
          sources,
        ),
      );
    }
    const empty = v.transcript.querySelector(".transcript__empty");
    if (empty) empty.remove();
    v.transcript.append(item);
    if (live) {
      if (wasNearBottom || role === "adviser") scrollTranscript(true);
      else v.newMessages.hidden = false;
      item.classList.add("msg--new");
    }
  }

  function addNote(note) {
    const v = state.view;
    if (!v || !note || !note.id || v.noteIds.has(note.id)) return;
    v.noteIds.add(note.id);
    const empty = v.notes.querySelector(".notes__empty");
    if (empty) empty.remove();
    const me = state.session.myId && note.author_id === state.session.myId;
    v.notes.append(
      h(
        "li",
        { class: "note", dataset: { noteId: note.id } },
        h(
          "p",
          { class: "note__meta" },
          h("span", { text: me ? "Vous" : "Un collègue" }),
          h("time", {
            datetime: note.created_at,
            title: fullDate(note.created_at),
            text: clock(note.created_at),
          }),
        ),
        h("p", { class: "note__text", dir: "auto", text: note.text }),
      ),
    );
  }

  function updateComposer() {
    const v = state.view;
    const detail = state.detail;
    if (!v || !detail) return;
    const can = permissions(detail);
    const text = v.reply.value.trim();
    const suggestion = detail.suggested_reply || "";
    v.replySend.disabled = !can.reply || !text || v.busy === "reply";
    v.noteSend.disabled = !can.note || !v.note.value.trim() || v.busy === "note";
    v.replySuggestion.hidden = !can.reply || !suggestion || v.reply.value === suggestion;
    let hint;
    if (detail.status === "waiting") hint = "Prenez la demande en charge pour pouvoir répondre.";
    else if (can.heldByOther) hint = "Seul le conseiller qui suit la demande peut répondre.";
    else if (!can.reply) hint = "La demande est terminée : plus de réponse possible.";
    else if (suggestion && v.reply.value === suggestion)
      hint = "Suggestion de l'assistant : relisez-la et adaptez-la avant l'envoi.";
    else hint = "Le client voit ce message tel quel (les données sensibles sont masquées).";
    v.replyHint.textContent = hint;
    v.composer.dataset.suggested = String(Boolean(suggestion) && v.reply.value === suggestion);
  }

  // -- actions -----------------------------------------------------------------------------

  async function act(name, button, busyText, work) {
    const v = state.view;
    if (!v || v.busy) return;
    v.busy = name;
    const label = button.textContent;
    button.disabled = true;
    button.textContent = busyText;
    try {
      await work();
    } finally {
      if (state.view === v) {
        v.busy = null;
        button.textContent = label;
        if (state.detail) renderHandoff(state.detail);
      }
    }
  }

  function claim() {
    const v = state.view;
    const id = state.detail && state.detail.id;
    if (!id) return;
    return act("claim", v.claim, "Prise en charge…", async () => {
      // Before the answer: the stream may announce the claim first.
      state.claimedHere.add(id);
      try {
        const handoff = await api(`/v1/handoffs/${encodeURIComponent(id)}/claim`, {
          method: "POST",
        });
        learnMyId(handoff.assignee_id);
        state.lostClaims.delete(id);
        toast("Demande prise en charge : vous pouvez répondre au client.", "success");
        await loadDetail(id);
        selectTab("active");
        refreshLists();
        if (state.view && !state.view.reply.disabled) state.view.reply.focus();
      } catch (error) {
        if (!(error instanceof ApiError && /by you/.test(error.message)))
          state.claimedHere.delete(id);
        if (error instanceof ApiError && error.status === 409) {
          if (!/by you/.test(error.message)) state.lostClaims.add(id);
          toast(
            describe(error, "Prise en charge"),
            /by you/.test(error.message) ? "info" : "error",
          );
          refreshLists();
          await loadDetail(id);
          return;
        }
        fail(error, "Prise en charge");
      }
    });
  }

  function release() {
    const v = state.view;
    const id = state.detail && state.detail.id;
    if (!id) return;
    return act("release", v.release, "Relâche…", async () => {
      try {
        await api(`/v1/handoffs/${encodeURIComponent(id)}/release`, { method: "POST" });
        toast("Demande relâchée : l'assistant reprend la conversation.", "success");
        await loadDetail(id);
        selectTab("waiting");
        refreshLists();
      } catch (error) {
        fail(error, "Relâche");
        if (error instanceof ApiError && error.status === 409) {
          loadDetail(id);
          refreshLists();
        }
      }
    });
  }

  function sendReply() {
    const v = state.view;
    const detail = state.detail;
    if (!v || !detail || v.replySend.disabled) return;
    const text = v.reply.value.trim();
    if (!text) return;
    const clientId = v.replyState.clientId;
    return act("reply", v.replySend, "Envoi…", async () => {
      try {
        const message = await api(`/v1/handoffs/${encodeURIComponent(detail.id)}/messages`, {
          method: "POST",
          body: { text, client_message_id: clientId },
        });
        addTranscriptMessage(message, true);
        v.reply.value = "";
        state.drafts.delete(detail.id);
        v.replyState.touched = true;
        v.replyState.clientId = newId("console");
        setDirection(v.reply, "");
        autosize(v.reply);
        toast("Message envoyé au client.", "success");
      } catch (error) {
        // A network failure keeps the text and the client_message_id: a retry is safe.
        fail(error, "Envoi du message");
        if (error instanceof ApiError && error.status === 409) loadDetail(detail.id);
      }
    });
  }

  function sendNote() {
    const v = state.view;
    const detail = state.detail;
    if (!v || !detail || v.noteSend.disabled) return;
    const text = v.note.value.trim();
    if (!text) return;
    return act("note", v.noteSend, "Ajout…", async () => {
      try {
        const note = await api(`/v1/handoffs/${encodeURIComponent(detail.id)}/notes`, {
          method: "POST",
          body: { text },
        });
        learnMyId(note.author_id);
        addNote(note);
        v.note.value = "";
        toast("Note interne ajoutée.", "success");
      } catch (error) {
        fail(error, "Ajout de la note");
      }
    });
  }

  function resolve() {
    const v = state.view;
    const detail = state.detail;
    if (!v || !detail) return;
    const returnToBot = v.toBot.checked;
    return act("resolve", v.resolveSend, "Résolution…", async () => {
      try {
        await api(`/v1/handoffs/${encodeURIComponent(detail.id)}/resolve`, {
          method: "POST",
          body: { resolution: v.resolution.value.trim(), return_to_bot: returnToBot },
        });
        toast(
          returnToBot
            ? "Demande résolue : la conversation est rendue à l'assistant."
            : "Demande résolue : la conversation est clôturée.",
          "success",
        );
        v.resolution.value = "";
        await loadDetail(detail.id);
        selectTab("waiting");
        refreshLists();
      } catch (error) {
        fail(error, "Résolution");
        if (error instanceof ApiError && error.status === 409) loadDetail(detail.id);
      }
    });
  }

  // -- QA ----------------------------------------------------------------------------------

  let qaSeq = 0;

  function renderQa() {
    const main = clear($("#main"));
    const content = h(
      "div",
      { class: "qa__content", dataset: { testid: "qa-runs" }, "aria-busy": "true" },
      h("p", { class: "loading", text: "Chargement des évaluations…" }),
    );
    const refresh = h("button", { class: "button", type: "button", text: "Actualiser" });
    refresh.addEventListener("click", () => loadQa(content));
    main.append(
      h(
        "section",
        { class: "qa", "aria-labelledby": "qa-title" },
        h(
          "header",
          { class: "qa__head" },
          h(
            "div",
            {},
            h("h1", { id: "qa-title", class: "qa__title", text: "Qualité — évaluations" }),
            h("p", {
              class: "qa__lead",
              text: "Résultats des campagnes d'évaluation de l'assistant : routage, recherche documentaire et qualité des réponses.",
            }),
          ),
          refresh,
        ),
        content,
      ),
    );
    if (!canUseQa()) {
      content.setAttribute("aria-busy", "false");
      clear(content).append(
        qaEmpty(
          "Réservé à l'équipe qualité",
          "Les évaluations sont consultables par les rôles qualité et administrateur.",
        ),
      );
      return;
    }
    loadQa(content);
  }

  function qaEmpty(title, hint, extra) {
    return h(
      "div",
      { class: "empty empty--panel" },
      h("p", { class: "empty__title", text: title }),
      h("p", { class: "empty__hint", text: hint }),
      extra || null,
    );
  }

  function runsOf(body) {
    if (Array.isArray(body)) return body;
    if (body && typeof body === "object") {
      for (const key of ["runs", "items", "results", "data"])
        if (Array.isArray(body[key])) return body[key];
    }
    return [];
  }

  async function loadQa(content) {
    const seq = ++qaSeq;
    content.setAttribute("aria-busy", "true");
    let body;
    try {
      body = await api("/v1/eval/runs");
    } catch (error) {
      if (seq !== qaSeq) return;
      content.setAttribute("aria-busy", "false");
      clear(content);
      if (
        error instanceof ApiError &&
        (error.status === 404 || error.status === 405 || error.status === 501)
      ) {
        content.append(
          qaEmpty(
            "Aucune évaluation pour l'instant",
            "Ce serveur ne publie pas encore d'évaluations. En attendant, une évaluation se lance en ligne de commande :",
            h(
              "pre",
              { class: "code" },
              h("code", { text: "rafiq eval run SUITE --tenant NOM --report rapport.html" }),
            ),
          ),
        );
        return;
      }
      if (error instanceof ApiError && error.status === 403) {
        content.append(
          qaEmpty(
            "Réservé à l'équipe qualité",
            "Votre rôle ne permet pas de consulter les évaluations.",
          ),
        );
        return;
      }
      if (error instanceof ApiError && error.status === 401) return fail(error, "Évaluations");
      content.append(
        qaEmpty("Évaluations indisponibles", describe(error, "Chargement des évaluations")),
      );
      return;
    }
    if (seq !== qaSeq) return;
    content.setAttribute("aria-busy", "false");
    clear(content);
    const runs = runsOf(body);
    if (!runs.length) {
      content.append(
        qaEmpty(
          "Aucune évaluation pour l'instant",
          "Les campagnes lancées par l'équipe qualité apparaîtront ici avec leurs indicateurs.",
        ),
      );
      return;
    }
    content.append(qaTable(runs));
  }

  function runDate(run) {
    return (
      run.finished_at || run.completed_at || run.created_at || run.started_at || run.date || null
    );
  }

  function runMetrics(run) {
    const source = run.metrics || run.summary || run.scores || {};
    if (!source || typeof source !== "object") return [];
    return Object.entries(source)
      .filter(([, value]) => typeof value === "number")
      .slice(0, 4);
  }

  function formatMetric(value) {
    if (value >= 0 && value <= 1 && !Number.isInteger(value))
      return `${(value * 100).toFixed(1).replace(".", ",")} %`;
    return new Intl.NumberFormat("fr-FR", { maximumFractionDigits: 2 }).format(value);
  }

  const LONG_DATE = new Intl.DateTimeFormat("fr-FR", { dateStyle: "medium", timeStyle: "short" });
  const RUN_STATES = {
    succeeded: ["ok", "Terminée"],
    completed: ["ok", "Terminée"],
    done: ["ok", "Terminée"],
    passed: ["ok", "Réussie"],
    failed: ["failed", "Échec"],
    error: ["failed", "Erreur"],
    running: ["running", "En cours"],
    queued: ["running", "En file"],
    pending: ["running", "En file"],
  };
  const METRIC_LABELS = {
    accuracy: "exactitude",
    escalation_recall: "rappel des escalades",
    escalation_precision: "précision des escalades",
    faithfulness: "fidélité",
    answer_relevancy: "pertinence",
    context_precision: "précision du contexte",
    context_recall: "rappel du contexte",
    recall_at_5: "rappel@5",
    mrr: "MRR",
    cases: "cas",
  };

  function runStatus(status) {
    const [kind, label] = RUN_STATES[status.toLowerCase()] || ["other", status];
    return h("span", {
      class: "chip chip--run",
      dataset: { state: kind },
      title: status,
      text: label,
    });
  }

  function qaTable(runs) {
    const rows = runs.map((run) => {
      const id = String(run.id || run.run_id || "");
      const date = runDate(run);
      const metrics = runMetrics(run);
      const open = h("button", {
        class: "button button--small",
        type: "button",
        text: "Ouvrir le rapport",
        "aria-label": `Ouvrir le rapport de l'évaluation ${id}`,
      });
      const save = h("button", {
        class: "link-button",
        type: "button",
        text: "Télécharger",
        "aria-label": `Télécharger le rapport de l'évaluation ${id}`,
      });
      open.addEventListener("click", () => openReport(id, open, false));
      save.addEventListener("click", () => openReport(id, save, true));
      return h(
        "tr",
        { dataset: { runId: id } },
        h("td", { class: "mono", text: id }),
        h("td", { text: String(run.suite || run.name || "—") }),
        h(
          "td",
          { class: "qa__date" },
          date ? h("time", { datetime: date, text: LONG_DATE.format(new Date(date)) }) : "—",
        ),
        h("td", {}, run.status ? runStatus(String(run.status)) : "—"),
        h(
          "td",
          {},
          metrics.length
            ? h(
                "ul",
                { class: "metrics" },
                metrics.map(([name, value]) =>
                  h(
                    "li",
                    { title: name },
                    h("span", { class: "metrics__name", text: METRIC_LABELS[name] || name }),
                    h("span", { class: "metrics__value", text: formatMetric(value) }),
                  ),
                ),
              )
            : "—",
        ),
        h("td", { class: "qa__actions" }, open, save),
      );
    });
    return h(
      "table",
      { class: "table" },
      h("caption", { class: "visually-hidden", text: "Campagnes d'évaluation" }),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["Identifiant", "Suite", "Date", "Statut", "Indicateurs clés", "Rapport"].map((name) =>
            h("th", { scope: "col", text: name }),
          ),
        ),
      ),
      h("tbody", {}, rows),
    );
  }

  /** The report needs the token, so it is fetched here. "Télécharger" saves it through a
   * blob URL. "Ouvrir" shows it in a new tab: a blob document would inherit this page's
   * Content-Security-Policy, which refuses the report's inline <style> and style="...",
   * so the report is rebuilt in that tab with its styles applied through the CSSOM and
   * without any of its scripts. */
  async function openReport(id, button, download) {
    const target = download ? null : window.open("", "_blank");
    button.disabled = true;
    try {
      const response = await request(`/v1/eval/runs/${encodeURIComponent(id)}/report`, {
        accept: "text/html",
      });
      const html = await response.text();
      if (target) {
        showReport(target, html, id);
      } else {
        const url = URL.createObjectURL(new Blob([html], { type: "text/html;charset=utf-8" }));
        const link = h("a", { href: url, download: `rafiq-evaluation-${id}.html`, hidden: true });
        document.body.append(link);
        link.click();
        link.remove();
        window.setTimeout(() => URL.revokeObjectURL(url), 60000);
      }
    } catch (error) {
      if (target) target.close();
      if (error instanceof ApiError && error.status === 404)
        toast("Ce rapport n'est pas (encore) disponible.", "error");
      else fail(error, "Ouverture du rapport");
    } finally {
      button.disabled = false;
    }
  }

  function showReport(target, html, id) {
    // Parsed with its styles renamed, so that the parse itself breaks no CSP rule, in a
    // document without a browsing context, where nothing loads or runs.
    const report = document.implementation.createHTMLDocument("");
    report.documentElement.innerHTML = html
      .replace(/<(\/?)style\b/gi, "<$1rafiq-style")
      .replace(/(<[a-z][^>]*?\s)style\s*=/gi, "$1data-rafiq-css=");
    report
      .querySelectorAll("script, iframe, object, embed, base, link, meta")
      .forEach((el) => el.remove());
    const css = [...report.querySelectorAll("rafiq-style")].map((el) => el.textContent).join("\n");
    report.querySelectorAll("rafiq-style").forEach((el) => el.remove());
    for (const el of report.querySelectorAll("*")) {
      for (const attribute of [...el.attributes]) {
        if (/^on/i.test(attribute.name)) el.removeAttribute(attribute.name);
      }
    }
    const doc = target.document;
    doc.title = report.title || `Rapport d'évaluation ${id}`;
    const root = /<html\b[^>]*>/i.exec(html);
    const lang = root && /\blang=["']?([A-Za-z-]+)/.exec(root[0]);
    const dir = root && /\bdir=["']?(rtl|ltr)/i.exec(root[0]);
    doc.documentElement.lang = lang ? lang[1] : "fr";
    if (dir) doc.documentElement.dir = dir[1].toLowerCase();
    doc.body.replaceWith(doc.importNode(report.body, true));
    for (const el of doc.querySelectorAll("[data-rafiq-css]")) {
      el.style.cssText = el.dataset.rafiqCss;
      delete el.dataset.rafiqCss;
    }
    if (css) {
      const sheet = new target.CSSStyleSheet();
      sheet.replaceSync(css);
      doc.adoptedStyleSheets = [sheet];
    }
    target.opener = null;
    target.focus();
  }

  // -- start -------------------------------------------------------------------------------

  function init() {
    $("#signin-form").addEventListener("submit", submitSignIn);
    $("#signout").addEventListener("click", () => signOut(null));
    // The skip link must not touch the hash: the hash is the route.
    $(".skip-link").addEventListener("click", (event) => {
      event.preventDefault();
      $("#main").focus();
    });
    $("#queue-refresh").addEventListener("click", () => refreshLists());
    for (const name of TABS) {
      const tab = $(`#tab-${name}`);
      tab.addEventListener("click", () => selectTab(name));
      tab.addEventListener("keydown", onTabKey);
    }
    window.addEventListener("hashchange", route);
    window.setInterval(tick, TICK_MS);
    try {
      const tab = window.sessionStorage.getItem(TAB_KEY);
      if (TABS.includes(tab)) state.tab = tab;
    } catch (_) {
      // default tab
    }
    state.session = loadSession();
    if (state.session) startApp();
    else showSignIn(null);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
