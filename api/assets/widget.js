/*
 * Rafiq customer chat widget.
 *
 *   <script src="https://HOST/widget.js" data-key="pk_..." async></script>
 *
 * Optional attributes: data-locale (fr | ar | en), data-title, data-color (accent colour).
 * Vanilla JavaScript, no build step and no external asset: everything lives in an open
 * shadow root on <div id="rafiq-widget">, so the host page's CSS does not reach the
 * widget and the widget never styles the host page. No global variable is defined.
 * The HTTP API it talks to is DESIGN.md section 5 (prefix /v1, served by the same origin
 * as this script).
 */
(() => {
  "use strict";

  const GUARD = Symbol.for("rafiq.widget");
  if (window[GUARD] || document.getElementById("rafiq-widget")) return;
  window[GUARD] = true;

  const script =
    document.currentScript || document.querySelector('script[src*="widget.js"][data-key]');
  if (!script || !script.dataset.key) {
    console.warn("Rafiq widget: add data-key=\"pk_...\" to the <script> tag");
    return;
  }

  // --- configuration -------------------------------------------------------------------

  const KEY = script.dataset.key;
  const API = new URL(script.src, location.href).origin + "/v1";
  const STORE = "rafiq:" + KEY;
  const MAX_CHARS = 4000; // the API's default max_message_chars
  const COUNTER_FROM = 3500;
  const SEND_ATTEMPTS = 6;
  const STALL_MS = 45000; // no byte (not even a heartbeat) for this long: the stream is dead
  const ANSWER_STALL_MS = 90000; // an answer that stops streaming for this long is asked again
  const EVENTS_READY_WAIT_MS = 3000;

  function pickLocale() {
    const candidates = [
      script.dataset.locale,
      document.documentElement.lang,
      ...(navigator.languages || []),
      navigator.language,
    ];
    for (const value of candidates) {
      const prefix = String(value || "").toLowerCase().split(/[-_]/)[0];
      if (prefix === "fr" || prefix === "ar" || prefix === "en") return prefix;
    }
    return "fr";
  }

  const LOCALE = pickLocale();
  const UI_DIR = LOCALE === "ar" ? "rtl" : "ltr";
  const TIME_LOCALE = { fr: "fr-FR", ar: "ar-MA", en: "en-GB" }[LOCALE];

  // --- customer-facing strings ----------------------------------------------------------

  const STRINGS = {
    fr: {
      title: "Service client",
      openChat: "Ouvrir la discussion avec le service client",
      closeChat: "Fermer la discussion",
      subtitleBot: "Assistant virtuel, disponible 24h/24",
      subtitleWaiting: "Mise en relation avec un conseiller…",
      subtitleHuman: "Conseiller en ligne",
      subtitleClosed: "Conversation terminée",
      placeholder: "Écrivez votre message…",
      placeholderLeave: "Laissez votre message…",
      placeholderClosed: "Cette conversation est terminée",
      inputLabel: "Votre message",
      send: "Envoyer",
      handoff: "Parler à un conseiller",
      cancel: "Annuler",
      cancelLabel: "Annuler la demande de mise en relation",
      waiting: "En attente d'un conseiller",
      queue: "Position dans la file : {n}",
      wait: "Attente estimée : {m} min",
      leave:
        "Aucun conseiller n'est disponible pour le moment : laissez-nous un message, nous vous recontacterons.",
      humanNamed: "Vous échangez avec {name}",
      human: "Un conseiller a rejoint la conversation",
      back: "Vous échangez de nouveau avec l'assistant virtuel",
      closed: "Cette conversation est terminée. Merci de nous avoir contactés.",
      newConversation: "Nouvelle conversation",
      offline: "Connexion perdue. Reconnexion en cours…",
      sending: "Envoi…",
      waitingNetwork: "En attente du réseau…",
      notSent: "Non envoyé",
      retry: "Réessayer",
      you: "Vous",
      assistant: "Assistant virtuel",
      adviser: "Conseiller",
      system: "Information",
      aiBadge: "IA",
      disclosureTitle: "Assistant à intelligence artificielle",
      sources: "Sources",
      source: "Source : {t}",
      document: "Document : {t}",
      feedbackUp: "Réponse utile",
      feedbackDown: "Réponse pas utile",
      feedbackThanks: "Merci pour votre retour",
      messages: "Messages de la conversation",
      writing: "L'assistant écrit…",
      unread: "{n} nouveau(x) message(s)",
      charsLeft: "{n} caractères restants",
      starting: "Connexion au service client…",
      errRate:
        "Vous avez envoyé beaucoup de messages en peu de temps. Merci de patienter quelques instants avant de réessayer.",
      errRateIn: "Merci de patienter {s} s avant de réessayer.",
      errTooLong:
        "Votre message est trop long. Merci de le raccourcir ou de l'envoyer en plusieurs fois.",
      errInvalid: "Ce message n'a pas pu être envoyé. Merci de le reformuler.",
      errClosed: "Cette conversation est terminée. Ouvrez-en une nouvelle pour continuer.",
      errNetwork: "Impossible de joindre le service. Vérifiez votre connexion puis réessayez.",
      errServer: "Un problème technique est survenu. Merci de réessayer dans quelques instants.",
      errStart: "La discussion n'a pas pu démarrer.",
      errHandoff: "La demande de mise en relation n'a pas abouti. Merci de réessayer.",
    },
    ar: {
      title: "خدمة الزبناء",
      openChat: "فتح المحادثة مع خدمة الزبناء",
      closeChat: "إغلاق المحادثة",
      subtitleBot: "مساعد افتراضي متاح على مدار الساعة",
      subtitleWaiting: "جارٍ تحويلكم إلى أحد المستشارين…",
      subtitleHuman: "مستشار متصل",
      subtitleClosed: "انتهت المحادثة",
      placeholder: "اكتبوا رسالتكم…",
      placeholderLeave: "اتركوا رسالتكم…",
      placeholderClosed: "انتهت هذه المحادثة",
      inputLabel: "رسالتكم",
      send: "إرسال",
      handoff: "التحدث مع مستشار",
      cancel: "إلغاء",
      cancelLabel: "إلغاء طلب التحدث مع مستشار",
      waiting: "في انتظار أحد المستشارين",
      queue: "ترتيبكم في قائمة الانتظار: {n}",
      wait: "مدة الانتظار التقديرية بالدقائق: {m}",
      leave: "لا يوجد مستشار متاح حاليا: اتركوا لنا رسالة وسنتواصل معكم في أقرب وقت.",
      humanNamed: "أنتم الآن على تواصل مع {name}",
      human: "انضم أحد المستشارين إلى المحادثة",
      back: "عدتم إلى المحادثة مع المساعد الافتراضي",
      closed: "انتهت هذه المحادثة. شكرا على تواصلكم معنا.",
      newConversation: "محادثة جديدة",
      offline: "انقطع الاتصال. جارٍ إعادة الاتصال…",
      sending: "جارٍ الإرسال…",
      waitingNetwork: "في انتظار الشبكة…",
      notSent: "لم تُرسل",
      retry: "إعادة المحاولة",
      you: "أنتم",
      assistant: "المساعد الافتراضي",
      adviser: "مستشار",
      system: "معلومة",
      aiBadge: "ذكاء اصطناعي",
      disclosureTitle: "مساعد افتراضي",
      sources: "المصادر",
      source: "المصدر: {t}",
      document: "الوثيقة: {t}",
      feedbackUp: "إجابة مفيدة",
      feedbackDown: "إجابة غير مفيدة",
      feedbackThanks: "شكرا على ملاحظتكم",
      messages: "رسائل المحادثة",
      writing: "المساعد يكتب…",
      unread: "رسائل جديدة: {n}",
      charsLeft: "عدد الأحرف المتبقية: {n}",
      starting: "جارٍ الاتصال بخدمة الزبناء…",
      errRate: "لقد أرسلتم عددا كبيرا من الرسائل في وقت قصير. يرجى الانتظار قليلا قبل إعادة المحاولة.",
      errRateIn: "يرجى الانتظار {s} ثانية قبل إعادة المحاولة.",
      errTooLong: "رسالتكم طويلة جدا. يرجى اختصارها أو إرسالها على عدة دفعات.",
      errInvalid: "تعذر إرسال هذه الرسالة. يرجى إعادة صياغتها.",
      errClosed: "انتهت هذه المحادثة. يرجى بدء محادثة جديدة للمتابعة.",
      errNetwork: "تعذر الاتصال بالخدمة. يرجى التحقق من اتصالكم ثم إعادة المحاولة.",
      errServer: "حدث خلل تقني. يرجى إعادة المحاولة بعد لحظات.",
      errStart: "تعذر بدء المحادثة.",
      errHandoff: "تعذر إرسال طلب التحدث مع مستشار. يرجى إعادة المحاولة.",
    },
    en: {
      title: "Customer service",
      openChat: "Open the chat with customer service",
      closeChat: "Close the chat",
      subtitleBot: "Virtual assistant, available 24/7",
      subtitleWaiting: "Connecting you to an adviser…",
      subtitleHuman: "Adviser online",
      subtitleClosed: "Conversation ended",
      placeholder: "Type your message…",
      placeholderLeave: "Leave your message…",
      placeholderClosed: "This conversation has ended",
      inputLabel: "Your message",
      send: "Send",
      handoff: "Talk to an adviser",
      cancel: "Cancel",
      cancelLabel: "Cancel the adviser request",
      waiting: "Waiting for an adviser",
      queue: "Position in the queue: {n}",
      wait: "Estimated wait: {m} min",
      leave: "No adviser is available right now: leave us a message and we'll get back to you.",
      humanNamed: "You're chatting with {name}",
      human: "An adviser has joined the conversation",
      back: "You're back with the virtual assistant",
      closed: "This conversation has ended. Thank you for contacting us.",
      newConversation: "New conversation",
      offline: "Connection lost. Reconnecting…",
      sending: "Sending…",
      waitingNetwork: "Waiting for the network…",
      notSent: "Not sent",
      retry: "Retry",
      you: "You",
      assistant: "Virtual assistant",
      adviser: "Adviser",
      system: "Information",
      aiBadge: "AI",
      disclosureTitle: "Artificial intelligence assistant",
      sources: "Sources",
      source: "Source: {t}",
      document: "Document: {t}",
      feedbackUp: "Helpful answer",
      feedbackDown: "Not helpful",
      feedbackThanks: "Thanks for your feedback",
      messages: "Conversation messages",
      writing: "The assistant is typing…",
      unread: "{n} new message(s)",
      charsLeft: "{n} characters left",
      starting: "Connecting to customer service…",
      errRate: "You have sent a lot of messages in a short time. Please wait a moment before trying again.",
      errRateIn: "Please wait {s} s before trying again.",
      errTooLong: "Your message is too long. Please shorten it or send it in several parts.",
      errInvalid: "This message could not be sent. Please rephrase it.",
      errClosed: "This conversation has ended. Start a new one to continue.",
      errNetwork: "We can't reach the service. Check your connection and try again.",
      errServer: "A technical problem occurred. Please try again in a moment.",
      errStart: "The chat could not start.",
      errHandoff: "Your request for an adviser did not go through. Please try again.",
    },
  };
  const S = STRINGS[LOCALE];
  const fill = (text, values) => text.replace(/\{(\w+)\}/g, (_, k) => String(values[k]));
  const TITLE = script.dataset.title || S.title;

  // --- text direction --------------------------------------------------------------------

  const RTL_CHAR = /[\u0590-\u08FF\uFB1D-\uFDFF\uFE70-\uFEFF]/;
  const LETTER = /\p{L}/u;

  /** The direction of a text: the majority of its strong characters (Arabic right to left,
   *  Latin left to right), the first strong character on a tie, `fallback` without any. */
  function textDir(text, fallback = UI_DIR) {
    let rtl = 0;
    let ltr = 0;
    let first = null;
    for (const ch of text) {
      if (RTL_CHAR.test(ch)) {
        rtl += 1;
        first = first || "rtl";
      } else if (LETTER.test(ch)) {
        ltr += 1;
        first = first || "ltr";
      }
    }
    if (rtl === ltr) return first || fallback;
    return rtl > ltr ? "rtl" : "ltr";
  }

  // --- small helpers -------------------------------------------------------------------

  function el(tag, attrs = {}, children = []) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "text") node.textContent = value;
      else if (name === "class") node.className = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of [].concat(children)) {
      if (child) node.append(child);
    }
    return node;
  }

  const ICONS = {
    chat: '<path d="M21 11.5a8.4 8.4 0 0 1-.9 3.8 8.5 8.5 0 0 1-7.6 4.7 8.4 8.4 0 0 1-3.8-.9L3 21l1.9-5.7a8.4 8.4 0 0 1-.9-3.8 8.5 8.5 0 0 1 4.7-7.6 8.4 8.4 0 0 1 3.8-.9h.5a8.5 8.5 0 0 1 8 8z"/>',
    close: '<path d="M18 6 6 18M6 6l12 12"/>',
    chevron: '<path d="m6 9 6 6 6-6"/>',
    send: '<path d="M22 2 11 13"/><path d="m22 2-7 20-4-9-9-4z"/>',
    headset:
      '<path d="M3 18v-6a9 9 0 0 1 18 0v6"/><path d="M21 19a2 2 0 0 1-2 2h-1a2 2 0 0 1-2-2v-3a2 2 0 0 1 2-2h3zM3 19a2 2 0 0 0 2 2h1a2 2 0 0 0 2-2v-3a2 2 0 0 0-2-2H3z"/>',
    up: '<path d="M7 10v12"/><path d="M15 5.9 14 10h5.8a2 2 0 0 1 1.9 2.6l-2.3 8A2 2 0 0 1 17.5 22H4a2 2 0 0 1-2-2v-8a2 2 0 0 1 2-2h2.8a2 2 0 0 0 1.8-1.1L12 2a3.1 3.1 0 0 1 3 3.9z"/>',
    down: '<path d="M17 14V2"/><path d="M9 18.1 10 14H4.2a2 2 0 0 1-1.9-2.6l2.3-8A2 2 0 0 1 6.5 2H20a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2h-2.8a2 2 0 0 0-1.8 1.1L12 22a3.1 3.1 0 0 1-3-3.9z"/>',
    doc: '<path d="M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8z"/><path d="M14 2v6h6M16 13H8M16 17H8"/>',
    spark:
      '<path d="M12 3l1.8 4.9L18.7 9.7l-4.9 1.8L12 16.4l-1.8-4.9L5.3 9.7l4.9-1.8z"/><path d="M19 14.5l.8 2.2 2.2.8-2.2.8-.8 2.2-.8-2.2-2.2-.8 2.2-.8z"/>',
    bot: '<rect x="4" y="8" width="16" height="12" rx="4"/><path d="M12 8V4.5"/><circle cx="12" cy="3.5" r="1"/><path d="M9 13.5v1M15 13.5v1"/><path d="M2 13v3M22 13v3"/>',
    user: '<path d="M20 21v-2a4 4 0 0 0-4-4H8a4 4 0 0 0-4 4v2"/><circle cx="12" cy="7" r="4"/>',
    offline:
      '<path d="m2 2 20 20"/><path d="M8.5 16.5a5 5 0 0 1 7 0"/><path d="M2 8.8a15 15 0 0 1 4.2-2.7"/><path d="M10.7 5.1A15 15 0 0 1 22 8.8"/><path d="M5 12.9a10 10 0 0 1 5.2-2.4"/><path d="M16.9 10.9A10 10 0 0 1 19 12.9"/><path d="M12 20h.01"/>',
    check: '<circle cx="12" cy="12" r="10"/><path d="m8 12.5 2.7 2.7L16 10"/>',
    alert: '<circle cx="12" cy="12" r="10"/><path d="M12 7.5v5M12 16.5h.01"/>',
    back: '<path d="M3 12a9 9 0 1 0 3-6.7L3 8"/><path d="M3 3v5h5"/>',
  };

  function icon(name, cls = "icon") {
    const span = el("span", { class: cls, "aria-hidden": "true" });
    span.innerHTML =
      '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" ' +
      'stroke-linecap="round" stroke-linejoin="round" focusable="false">' +
      ICONS[name] +
      "</svg>";
    return span;
  }

  function uuid() {
    if (window.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
    const bytes = new Uint8Array(16);
    if (window.crypto && crypto.getRandomValues) crypto.getRandomValues(bytes);
    else for (let i = 0; i < 16; i += 1) bytes[i] = Math.floor(Math.random() * 256);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const backoff = (attempt) => Math.min(30000, 1000 * 2 ** attempt) * (0.75 + Math.random() * 0.5);

  function waitOnline() {
    if (navigator.onLine) return Promise.resolve();
    return new Promise((resolve) => window.addEventListener("online", () => resolve(), { once: true }));
  }

  function formatTime(iso) {
    const date = iso ? new Date(iso) : new Date();
    if (Number.isNaN(date.getTime())) return "";
    try {
      return new Intl.DateTimeFormat(TIME_LOCALE, { hour: "2-digit", minute: "2-digit" }).format(date);
    } catch (_) {
      return date.toTimeString().slice(0, 5);
    }
  }

  // --- storage: the conversation survives a reload ---------------------------------------

  const storage = {
    read() {
      try {
        return JSON.parse(localStorage.getItem(STORE) || "null") || {};
      } catch (_) {
        return {};
      }
    },
    write(patch) {
      try {
        localStorage.setItem(STORE, JSON.stringify({ ...storage.read(), ...patch }));
      } catch (_) {
        /* private browsing or storage disabled: the conversation lasts as long as the page */
      }
    },
    clear() {
      try {
        localStorage.removeItem(STORE);
      } catch (_) {
        /* see write */
      }
    },
  };

  // --- rich text: paragraphs, bullets, **bold**, links, nothing else ---------------------

  const INLINE = /\*\*([^*\n]+)\*\*|\[([^\]\n]{1,200})\]\((https?:\/\/[^\s)]+)\)|(https?:\/\/[^\s<>"']+)/g;

  function link(href, label) {
    let safe = null;
    try {
      const url = new URL(href);
      if (url.protocol === "http:" || url.protocol === "https:") safe = url.href;
    } catch (_) {
      safe = null;
    }
    if (!safe) return document.createTextNode(label);
    return el("a", { href: safe, target: "_blank", rel: "noopener noreferrer nofollow", text: label });
  }

  function inline(line) {
    const nodes = [];
    let last = 0;
    for (const match of line.matchAll(INLINE)) {
      let end = match.index + match[0].length;
      let url = match[4];
      if (url) {
        // A full stop or a closing bracket after a URL is the sentence's, not the URL's.
        const trimmed = url.replace(/[.,;:!?)»"'\]]+$/, "");
        end -= url.length - trimmed.length;
        url = trimmed;
      }
      if (match.index > last) nodes.push(document.createTextNode(line.slice(last, match.index)));
      if (match[1]) nodes.push(el("strong", { text: match[1] }));
      else if (match[2]) nodes.push(link(match[3], match[2]));
      else nodes.push(link(url, url));
      last = end;
    }
    if (last < line.length) nodes.push(document.createTextNode(line.slice(last)));
    return nodes;
  }

  function renderText(target, text) {
    target.replaceChildren();
    for (const raw of text.split("\n")) {
      const line = raw.trim();
      if (!line) continue;
      const bullet = /^([-*•]|\d+[.)])\s+/.exec(line);
      const p = el("p", { class: bullet ? "li" : null });
      if (bullet) {
        p.append(el("span", { class: "bullet", "aria-hidden": "true", text: /\d/.test(bullet[1]) ? bullet[1] : "•" }));
        p.append(...inline(line.slice(bullet[0].length)));
      } else {
        p.append(...inline(line));
      }
      target.append(p);
    }
  }

  /** While the answer streams, the model's [chunk-id] markers are hidden: the final text
   *  comes without them and the sources show as chips. */
  const streamedText = (raw) =>
    raw.replace(/\s*\[[^\s[\]]{1,400}\]/g, "").replace(/\s*\[[^\s[\]]*$/, "");

  // --- Server-sent events over fetch -----------------------------------------------------

  async function readEvents(response, onEvent, onBytes) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let data = [];
    let name = "";
    let id = null;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      if (onBytes) onBytes();
      buffer += decoder.decode(value, { stream: true });
      let newline;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline).replace(/\r$/, "");
        buffer = buffer.slice(newline + 1);
        if (line === "") {
          if (data.length) {
            let payload = null;
            try {
              payload = JSON.parse(data.join("\n"));
            } catch (_) {
              payload = null;
            }
            if (payload !== null) onEvent({ event: name || "message", data: payload, id });
          }
          data = [];
          name = "";
          id = null;
          continue;
        }
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const val = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "data") data.push(val);
        else if (field === "event") name = val;
        else if (field === "id") id = val;
      }
    }
  }

  async function apiError(response) {
    let code = "error";
    try {
      const body = await response.json();
      code = (body && body.error && body.error.code) || code;
    } catch (_) {
      /* not JSON */
    }
    return { status: response.status, code, retryAfter: Number(response.headers.get("Retry-After")) || 0 };
  }

  function errorText(error) {
    if (!error) return S.errNetwork;
    if (error.status === 429) return error.retryAfter ? `${S.errRate} ${fill(S.errRateIn, { s: error.retryAfter })}` : S.errRate;
    if (error.status === 413 || error.code === "message_too_long") return S.errTooLong;
    if (error.code === "conversation_closed") return S.errClosed;
    if (error.status === 422) return S.errInvalid;
    if (error.status === 0) return S.errNetwork;
    return S.errServer;
  }

  // --- styles ----------------------------------------------------------------------------

  const STYLES = `
:host { all: initial !important; display: block !important; position: fixed !important;
  top: 0 !important; left: 0 !important; width: 0 !important; height: 0 !important;
  overflow: visible !important; z-index: 2147483000 !important; visibility: visible !important;
  opacity: 1 !important; transform: none !important; filter: none !important; }
*, *::before, *::after { box-sizing: border-box; }
[hidden] { display: none !important; }
.root { --accent: #2952cc; --on-accent: #ffffff; --accent-soft: rgba(41, 82, 204, 0.1);
  --accent-line: rgba(41, 82, 204, 0.35); --ink: #1b2230; --muted: #5a6375; --line: #e1e5ec;
  --canvas: #f5f6f9; --danger: #b42318;
  font-family: system-ui, "Segoe UI", "Noto Sans Arabic", "Noto Naskh Arabic", "DejaVu Sans", Tahoma, Arial, sans-serif;
  font-size: 15px; line-height: 1.5; font-weight: 400; font-style: normal; color: var(--ink);
  letter-spacing: normal; word-spacing: normal; text-transform: none; text-align: start;
  text-indent: 0; text-shadow: none; white-space: normal; cursor: auto;
  -webkit-font-smoothing: antialiased; -webkit-text-size-adjust: 100%; }
button, textarea { font: inherit; color: inherit; letter-spacing: inherit; text-transform: none;
  margin: 0; }
button { cursor: pointer; background: none; border: 0; padding: 0; line-height: inherit; }
button:disabled { cursor: default; }
p { margin: 0; padding: 0; }
a { color: inherit; text-decoration: underline; text-underline-offset: 2px; }
:focus { outline: none; }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.icon { display: inline-flex; width: 18px; height: 18px; flex: none; }
.icon svg { width: 100%; height: 100%; display: block; }
.sr { position: absolute !important; width: 1px; height: 1px; margin: -1px; padding: 0;
  overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }

.launcher { position: fixed; bottom: 24px; right: 24px; width: 60px; height: 60px;
  border-radius: 50%; background: var(--accent); color: var(--on-accent);
  display: flex; align-items: center; justify-content: center;
  box-shadow: 0 6px 20px rgba(16, 24, 40, 0.22), 0 2px 6px rgba(16, 24, 40, 0.12);
  transition: transform 0.15s ease, box-shadow 0.15s ease; }
.launcher:hover { transform: translateY(-2px); box-shadow: 0 10px 26px rgba(16, 24, 40, 0.26); }
.launcher .icon { width: 28px; height: 28px; }
.launcher:focus-visible { outline-color: var(--ink); outline-offset: 3px; }
.rtl .launcher { right: auto; left: 24px; }
.badge { position: absolute; top: -4px; right: -4px; min-width: 22px; height: 22px; padding: 0 6px;
  border-radius: 11px; background: #d92d20; color: #fff; font-size: 12px; font-weight: 700;
  line-height: 22px; text-align: center; border: 2px solid #fff; }
.rtl .badge { right: auto; left: -4px; }

.panel { position: fixed; bottom: 100px; right: 24px; width: 384px;
  height: min(660px, calc(100vh - 124px)); min-height: 360px; background: #fff;
  border-radius: 18px; overflow: hidden; display: flex; flex-direction: column;
  box-shadow: 0 18px 50px rgba(16, 24, 40, 0.24), 0 4px 12px rgba(16, 24, 40, 0.1);
  border: 1px solid rgba(16, 24, 40, 0.08); animation: rafiq-in 0.18s ease-out; }
.rtl .panel { right: auto; left: 24px; }
@keyframes rafiq-in { from { opacity: 0; transform: translateY(12px) scale(0.98); } to { opacity: 1; transform: none; } }

.header { display: flex; align-items: center; gap: 12px; padding: 14px 12px 14px 16px;
  background: var(--accent); color: var(--on-accent); flex: none; }
.panel[dir=rtl] .header { padding: 14px 16px 14px 12px; }
.avatar { position: relative; width: 40px; height: 40px; border-radius: 50%; flex: none;
  display: flex; align-items: center; justify-content: center; background: rgba(255, 255, 255, 0.2); }
.avatar .icon { width: 22px; height: 22px; }
.presence { position: absolute; bottom: 0; right: 0; width: 11px; height: 11px; border-radius: 50%;
  background: #12b76a; border: 2px solid var(--accent); }
.panel[dir=rtl] .presence { right: auto; left: 0; }
.presence[data-state=offline] { background: #98a2b3; }
.titles { flex: 1; min-width: 0; }
.title { font-size: 16px; font-weight: 650; line-height: 1.3; margin: 0; white-space: nowrap;
  overflow: hidden; text-overflow: ellipsis; }
.subtitle { font-size: 12.5px; opacity: 0.88; line-height: 1.35; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; }
.close { width: 36px; height: 36px; border-radius: 10px; display: flex; align-items: center;
  justify-content: center; color: inherit; flex: none; }
.close:hover { background: rgba(255, 255, 255, 0.16); }
.close:focus-visible { outline-color: var(--on-accent); outline-offset: -3px; }
.close .icon { width: 20px; height: 20px; }

.connection { display: flex; align-items: center; gap: 8px; padding: 7px 16px; font-size: 13px;
  background: #fffaeb; color: #7a4b00; border-bottom: 1px solid #fedf89; flex: none; }
.connection .icon { width: 16px; height: 16px; }

.status { display: flex; align-items: flex-start; gap: 10px; padding: 10px 14px; font-size: 13.5px;
  line-height: 1.4; border-bottom: 1px solid var(--line); flex: none; background: #fff; }
.status .icon { width: 18px; height: 18px; margin-top: 1px; }
.status-body { flex: 1; min-width: 0; }
.status-title { font-weight: 600; }
.status-detail { color: var(--muted); font-size: 12.5px; margin-top: 1px; }
.status[data-status=waiting_human] { background: #fff8ec; border-bottom-color: #f6dcae; }
.status[data-status=waiting_human] .icon { color: #b54708; }
.status[data-status=human] { background: #ecfdf3; border-bottom-color: #b7ebc9; }
.status[data-status=human] .icon { color: #067647; }
.status[data-status=closed] { background: #f2f4f7; }
.status[data-status=bot] { background: var(--accent-soft); }
.status[data-status=bot] .icon { color: var(--accent); }
.pill { flex: none; align-self: center; padding: 5px 12px; border-radius: 999px; font-size: 13px;
  font-weight: 600; border: 1px solid currentColor; color: var(--ink); background: #fff; }
.pill:hover { background: #f2f4f7; }
.status .pill.primary { background: var(--accent); color: var(--on-accent); border-color: var(--accent); }
.spinner { width: 16px; height: 16px; margin-top: 2px; border-radius: 50%; flex: none;
  border: 2px solid #f6c27a; border-top-color: #b54708; animation: rafiq-spin 0.9s linear infinite; }
@keyframes rafiq-spin { to { transform: rotate(360deg); } }

.messages { flex: 1; overflow-y: auto; overscroll-behavior: contain; padding: 16px 14px 8px;
  background: var(--canvas); display: flex; flex-direction: column; gap: 4px; scroll-behavior: auto; }
.messages > :first-child { margin-top: auto; }
.disclosure { display: flex; gap: 10px; align-items: flex-start; margin: 0 4px 12px; padding: 10px 12px;
  border-radius: 12px; background: #fff; border: 1px solid var(--accent-line);
  border-inline-start: 4px solid var(--accent); font-size: 13px; line-height: 1.45; color: var(--ink); }
.disclosure .icon { width: 20px; height: 20px; color: var(--accent); margin-top: 1px; }
.disclosure-title { display: flex; align-items: center; gap: 6px; font-weight: 650; margin-bottom: 2px; }
.tag { display: inline-block; font-size: 10.5px; font-weight: 700; letter-spacing: 0.04em;
  padding: 1px 6px; border-radius: 4px; background: var(--accent); color: var(--on-accent); }
.disclosure p { unicode-bidi: plaintext; color: #3a4252; }
.starting { align-self: center; color: var(--muted); font-size: 13px; padding: 20px 0; }

.msg { display: flex; flex-direction: column; max-width: 86%; margin-top: 6px; align-items: flex-start; }
.msg[data-role=customer] { align-self: flex-end; align-items: flex-end; }
.msg[data-role=bot], .msg[data-role=adviser] { align-self: flex-start; }
.msg[data-role=system] { align-self: center; max-width: 92%; margin: 10px 0 6px; align-items: center; }
.author { font-size: 12px; font-weight: 600; color: var(--muted); margin: 0 6px 3px; }
.bubble { padding: 9px 13px; border-radius: 18px; background: #fff; border: 1px solid var(--line);
  overflow-wrap: anywhere; word-break: normal; max-width: 100%; min-width: 0;
  box-shadow: 0 1px 1.5px rgba(16, 24, 40, 0.05); }
.text p { unicode-bidi: plaintext; text-align: start; }
.text p + p { margin-top: 7px; }
.text p.li { display: flex; gap: 6px; }
.text p.li + p.li { margin-top: 3px; }
.text .bullet { flex: none; }
.msg[dir=rtl] .text, .disclosure p[dir=rtl] { font-size: 16px; line-height: 1.65; }
.panel[dir=ltr] .msg[data-role=bot] .bubble, .panel[dir=ltr] .msg[data-role=adviser] .bubble { border-bottom-left-radius: 6px; }
.panel[dir=rtl] .msg[data-role=bot] .bubble, .panel[dir=rtl] .msg[data-role=adviser] .bubble { border-bottom-right-radius: 6px; }
.msg[data-role=customer] .bubble { background: var(--accent); color: var(--on-accent); border-color: transparent; }
.panel[dir=ltr] .msg[data-role=customer] .bubble { border-bottom-right-radius: 6px; }
.panel[dir=rtl] .msg[data-role=customer] .bubble { border-bottom-left-radius: 6px; }
.msg[data-role=adviser] .bubble { background: #ecfdf3; border-color: #abefc6; }
.msg[data-role=system] .bubble { background: transparent; border: 0; box-shadow: none; padding: 2px 8px;
  color: var(--muted); font-size: 13px; line-height: 1.45; text-align: center; }
.msg[data-role=system] .text p { text-align: center; }
.msg[data-delivery=failed] .bubble { opacity: 0.75; }

.meta { display: flex; align-items: center; gap: 6px; margin: 3px 6px 0; font-size: 11.5px;
  color: var(--muted); min-height: 18px; }
.msg[data-role=system] .meta { display: none; }
.meta .failed { color: var(--danger); font-weight: 600; }
.meta .link { color: var(--accent); font-weight: 600; text-decoration: underline; font-size: 11.5px; }
.feedback { display: inline-flex; gap: 2px; margin-inline-start: 4px; }
.feedback button { width: 26px; height: 26px; border-radius: 8px; display: inline-flex;
  align-items: center; justify-content: center; color: #7b8496; }
.feedback button .icon { width: 15px; height: 15px; }
.feedback button:hover { background: #e9ecf2; color: var(--ink); }
.feedback button[aria-pressed=true] { color: var(--accent); background: var(--accent-soft); }
.feedback button[aria-pressed=true] svg { fill: var(--accent-soft); }
.thanks { color: var(--muted); }
.msg[data-role=customer]:has(+ .msg[data-role=customer]) > .meta:not(:has(.failed)),
.msg[data-role=adviser]:has(+ .msg[data-role=adviser]) > .meta,
.msg.follow-up > .author,
.msg[data-role=bot][data-state=done]:has(+ .msg[data-role=bot]) > .meta:not(:has(.feedback)) { display: none; }

.citations { margin-top: 9px; padding-top: 8px; border-top: 1px solid var(--line); }
.citations-label { font-size: 11.5px; font-weight: 600; color: var(--muted); text-transform: none;
  margin-bottom: 5px; }
.chips { display: flex; flex-wrap: wrap; gap: 6px; }
.chip { display: inline-flex; align-items: center; gap: 5px; max-width: 100%; padding: 4px 10px;
  border-radius: 999px; border: 1px solid var(--line); background: var(--canvas); font-size: 12.5px;
  line-height: 1.35; color: #2f3747; }
.chip:hover { border-color: var(--accent-line); background: var(--accent-soft); }
.chip[aria-expanded=true] { border-color: var(--accent); background: var(--accent-soft); color: var(--ink); }
.chip .icon { width: 14px; height: 14px; color: var(--accent); }
.chip-label { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; unicode-bidi: plaintext; }
.source { margin-top: 7px; padding: 8px 10px; border-radius: 10px; background: var(--canvas);
  border: 1px solid var(--line); font-size: 12.5px; line-height: 1.45; }
.source-title { font-weight: 600; unicode-bidi: plaintext; }
.source-file { color: var(--muted); margin-top: 2px; unicode-bidi: plaintext; overflow-wrap: anywhere; }
.source-excerpt { margin-top: 5px; color: #3a4252; unicode-bidi: plaintext; }

.typing { display: inline-flex; gap: 4px; padding: 8px 2px; vertical-align: middle; }
.typing i { width: 7px; height: 7px; border-radius: 50%; background: #98a2b3;
  animation: rafiq-dot 1.2s infinite ease-in-out; }
.typing i:nth-child(2) { animation-delay: 0.15s; }
.typing i:nth-child(3) { animation-delay: 0.3s; }
@keyframes rafiq-dot { 0%, 80%, 100% { opacity: 0.35; transform: none; } 40% { opacity: 1; transform: translateY(-3px); } }
.msg[data-state=streaming] .text p:last-child::after { content: ""; display: inline-block;
  width: 2px; height: 1.1em; margin-inline-start: 3px; vertical-align: text-bottom; background: var(--accent);
  animation: rafiq-caret 1s steps(2, start) infinite; }
@keyframes rafiq-caret { to { visibility: hidden; } }

.composer { flex: none; border-top: 1px solid var(--line); background: #fff; padding: 8px 12px 10px; }
.toolbar { display: flex; align-items: center; gap: 8px; margin-bottom: 8px; min-height: 0; }
.handoff { display: inline-flex; align-items: center; gap: 6px; padding: 5px 11px; border-radius: 999px;
  border: 1px solid var(--line); font-size: 13px; font-weight: 550; color: #2f3747; background: #fff; }
.handoff:hover { border-color: var(--accent-line); background: var(--accent-soft); }
.handoff .icon { width: 15px; height: 15px; color: var(--accent); }
.alert { display: flex; gap: 8px; align-items: flex-start; margin-bottom: 8px; padding: 8px 10px;
  border-radius: 10px; background: #fef3f2; border: 1px solid #fecdca; color: #912018;
  font-size: 13px; line-height: 1.4; }
.alert .icon { width: 16px; height: 16px; margin-top: 1px; }
.form { display: flex; align-items: flex-end; gap: 8px; border: 1px solid #cfd5df; border-radius: 14px;
  padding: 5px 5px 5px 12px; background: #fff; transition: border-color 0.15s, box-shadow 0.15s; }
.panel[dir=rtl] .form { padding: 5px 12px 5px 5px; }
.form:focus-within { border-color: var(--accent); box-shadow: 0 0 0 3px var(--accent-soft); }
.input { flex: 1; min-width: 0; border: 0; outline: none; resize: none; background: transparent;
  font-size: 15px; line-height: 1.45; padding: 6px 0; max-height: 132px; min-height: 34px;
  color: var(--ink); unicode-bidi: plaintext; }
.input::placeholder { color: #7b8496; opacity: 1; }
.input:focus-visible { outline: none; }
.input:disabled { cursor: not-allowed; }
.send { width: 36px; height: 36px; border-radius: 10px; flex: none; display: flex; align-items: center;
  justify-content: center; background: var(--accent); color: var(--on-accent); transition: opacity 0.15s; }
.send .icon { width: 18px; height: 18px; }
.panel[dir=rtl] .send .icon { transform: scaleX(-1); }
.send:disabled { opacity: 0.4; }
.counter { font-size: 11.5px; color: var(--muted); margin-top: 4px; text-align: end; }

@media (max-width: 479.98px) {
  .panel, .rtl .panel { inset: 0; width: 100%; height: 100%; max-height: none; min-height: 0;
    border-radius: 0; border: 0; box-shadow: none; animation: none; }
  .root.open .launcher { display: none; }
  .header { padding-top: max(14px, env(safe-area-inset-top)); }
  .composer { padding-bottom: max(10px, env(safe-area-inset-bottom)); }
  .input { font-size: 16px; }
  .msg { max-width: 90%; }
}
@media (prefers-reduced-motion: reduce) {
  .panel, .launcher, .typing i, .spinner, .msg[data-state=streaming] .text p:last-child::after { animation: none; transition: none; }
}
@media (forced-colors: active) {
  .bubble, .chip, .form, .launcher, .disclosure { border: 1px solid CanvasText; }
}
`;

  // --- the widget ------------------------------------------------------------------------

  class Widget {
    constructor() {
      const saved = storage.read();
      this.conv = saved.id && saved.token ? { id: saved.id, token: saved.token } : null;
      this.lastEventId = Number.isInteger(saved.lastEventId) ? saved.lastEventId : null;
      this.feedback = saved.feedback || {};
      this.wait = saved.wait || {};
      this.adviserName = saved.adviser || null;
      this.status = "bot";
      this.backNotice = false;
      this.busy = false;
      this.inflight = false;
      this.deferred = [];
      this.byId = new Map();
      this.opening = null;
      this.eventsAbort = null;
      this.eventsReady = null;
      this.eventsAttempt = 0;
      this.reconnectTimer = null;
      this.online = navigator.onLine;
      this.unread = 0;
      this.isOpen = false;
      this.build();
      this.bindGlobal();
      if (this.conv) this.restore(saved.open === true);
    }

    // -- DOM -------------------------------------------------------------------------------

    build() {
      this.host = el("div", { id: "rafiq-widget" });
      const shadow = this.host.attachShadow({ mode: "open" });
      const style = el("style", { text: STYLES });
      this.root = el("div", { class: UI_DIR === "rtl" ? "root rtl" : "root" });

      this.badge = el("span", { class: "badge", hidden: true, "aria-hidden": "true" });
      this.launcherIcon = icon("chat");
      this.launcher = el(
        "button",
        {
          type: "button",
          class: "launcher",
          "data-testid": "rafiq-launcher",
          "aria-label": S.openChat,
          "aria-expanded": "false",
          "aria-controls": "rafiq-panel",
        },
        [this.launcherIcon, this.badge]
      );

      this.presence = el("span", { class: "presence", "data-state": "online" });
      this.subtitle = el("p", { class: "subtitle", text: S.subtitleBot });
      this.closeButton = el(
        "button",
        { type: "button", class: "close", "data-testid": "rafiq-close", "aria-label": S.closeChat, title: S.closeChat },
        icon("close")
      );
      this.avatarIcon = icon("bot");
      this.avatarIcon.dataset.face = "bot";
      const header = el("div", { class: "header" }, [
        el("div", { class: "avatar" }, [this.avatarIcon, this.presence]),
        el("div", { class: "titles" }, [el("h2", { class: "title", id: "rafiq-title", text: TITLE }), this.subtitle]),
        this.closeButton,
      ]);

      this.connection = el(
        "div",
        { class: "connection", "data-testid": "rafiq-connection", "data-state": "online", role: "status", hidden: true },
        [icon("offline"), el("span", { text: S.offline })]
      );
      this.statusBar = el("div", {
        class: "status",
        "data-testid": "rafiq-status",
        "data-status": "bot",
        role: "status",
        "aria-live": "polite",
        hidden: true,
      });

      this.messages = el("div", {
        class: "messages",
        "data-testid": "rafiq-messages",
        role: "log",
        "aria-live": "polite",
        "aria-relevant": "additions",
        "aria-label": S.messages,
        tabindex: "0",
      });

      this.handoffButton = el(
        "button",
        { type: "button", class: "handoff", "data-testid": "rafiq-handoff" },
        [icon("headset"), el("span", { text: S.handoff })]
      );
      this.alert = el("div", { class: "alert", role: "alert", hidden: true });
      this.input = el("textarea", {
        class: "input",
        "data-testid": "rafiq-input",
        rows: "1",
        dir: UI_DIR,
        maxlength: String(MAX_CHARS),
        placeholder: S.placeholder,
        "aria-label": S.inputLabel,
        enterkeyhint: "send",
        autocomplete: "off",
      });
      this.sendButton = el(
        "button",
        { type: "submit", class: "send", "data-testid": "rafiq-send", "aria-label": S.send, title: S.send, disabled: true },
        icon("send")
      );
      this.counter = el("div", { class: "counter", "aria-live": "polite", hidden: true });
      this.form = el("form", { class: "form" }, [this.input, this.sendButton]);
      this.toolbar = el("div", { class: "toolbar" }, [this.handoffButton]);
      const composer = el("div", { class: "composer" }, [this.alert, this.toolbar, this.form, this.counter]);

      this.panel = el(
        "section",
        {
          class: "panel",
          id: "rafiq-panel",
          "data-testid": "rafiq-panel",
          role: "dialog",
          "aria-labelledby": "rafiq-title",
          dir: UI_DIR,
          lang: LOCALE,
          hidden: true,
        },
        [header, this.connection, this.statusBar, this.messages, composer]
      );

      this.root.append(this.launcher, this.panel);
      shadow.append(style, this.root);
      document.body.append(this.host);
      this.applyAccent(script.dataset.color);
      this.renderStatus();
      this.renderComposer();
      this.renderConnection();

      this.launcher.addEventListener("click", () => (this.isOpen ? this.close() : this.open()));
      this.closeButton.addEventListener("click", () => this.close());
      this.root.addEventListener("keydown", (event) => {
        if (event.key === "Escape" && this.isOpen) {
          event.stopPropagation();
          this.close();
        }
      });
      this.form.addEventListener("submit", (event) => {
        event.preventDefault();
        this.submit();
      });
      this.input.addEventListener("keydown", (event) => {
        if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
          event.preventDefault();
          this.submit();
        }
      });
      this.input.addEventListener("input", () => this.onInput());
      // Banners and alerts come and go above and below the list: a reader at the end stays there.
      this.atEnd = true;
      this.messages.addEventListener("scroll", () => (this.atEnd = this.nearEnd()), { passive: true });
      if (window.ResizeObserver) {
        new ResizeObserver(() => {
          if (this.atEnd) this.messages.scrollTop = this.messages.scrollHeight;
        }).observe(this.messages);
      }
      this.handoffButton.addEventListener("click", () => this.askForHuman());
    }

    applyAccent(value) {
      if (!value || !isColor(value)) return;
      const probe = el("span", { style: `color: ${value}` });
      this.root.append(probe);
      const match = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(getComputedStyle(probe).color);
      probe.remove();
      if (!match) return;
      const [r, g, b] = match.slice(1, 4).map(Number);
      const channel = (c) => {
        const s = c / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      };
      const luminance = 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
      // White text when it is the more readable of the two, near-black otherwise.
      const onAccent = 1.05 / (luminance + 0.05) >= (luminance + 0.05) / 0.05 ? "#ffffff" : "#101828";
      this.root.style.setProperty("--accent", `rgb(${r}, ${g}, ${b})`);
      this.root.style.setProperty("--on-accent", onAccent);
      this.root.style.setProperty("--accent-soft", `rgba(${r}, ${g}, ${b}, 0.1)`);
      this.root.style.setProperty("--accent-line", `rgba(${r}, ${g}, ${b}, 0.35)`);
    }

    bindGlobal() {
      window.addEventListener("offline", () => {
        this.online = false;
        this.renderConnection();
        if (this.eventsAbort) this.eventsAbort.abort();
      });
      window.addEventListener("online", () => {
        this.online = true;
        this.eventsAttempt = 0;
        this.renderConnection();
        if (this.conv && !this.eventsAbort && this.status !== "closed") {
          clearTimeout(this.reconnectTimer);
          this.connectEvents();
        }
      });
      window.addEventListener("pageshow", (event) => {
        if (event.persisted && this.conv && !this.eventsAbort) this.connectEvents();
      });
    }

    // -- panel -----------------------------------------------------------------------------

    /** `focus` is false when the panel reopens by itself after a page load: the page keeps
     *  its focus. */
    open(focus = true) {
      if (this.isOpen) return;
      this.isOpen = true;
      this.panel.hidden = false;
      this.root.classList.add("open");
      this.launcher.setAttribute("aria-expanded", "true");
      this.launcher.setAttribute("aria-label", S.closeChat);
      this.launcherIcon.replaceWith((this.launcherIcon = icon("chevron")));
      this.unread = 0;
      this.renderBadge();
      storage.write({ open: true });
      this.atEnd = true;
      this.scrollToEnd(true);
      if (focus) this.input.focus({ preventScroll: true });
      if (!this.conv) this.ensureConversation().catch(() => undefined);
    }

    close() {
      if (!this.isOpen) return;
      this.isOpen = false;
      this.panel.hidden = true;
      this.root.classList.remove("open");
      this.launcher.setAttribute("aria-expanded", "false");
      this.launcher.setAttribute("aria-label", S.openChat);
      this.launcherIcon.replaceWith((this.launcherIcon = icon("chat")));
      storage.write({ open: false });
      this.launcher.focus();
    }

    renderBadge() {
      this.badge.hidden = this.unread === 0;
      this.badge.textContent = this.unread > 9 ? "9+" : String(this.unread);
      this.launcher.setAttribute(
        "aria-label",
        this.isOpen ? S.closeChat : this.unread ? `${S.openChat} (${fill(S.unread, { n: this.unread })})` : S.openChat
      );
    }

    nearEnd() {
      const m = this.messages;
      return m.scrollHeight - m.scrollTop - m.clientHeight < 80;
    }

    scrollToEnd(force) {
      if (force || this.stick) this.messages.scrollTop = this.messages.scrollHeight;
    }

    /** Runs a change to the message list, keeping the view at the end if it was there. */
    mutate(change, force = false) {
      this.stick = force || this.nearEnd();
      const result = change();
      this.scrollToEnd(false);
      return result;
    }

    // -- conversation lifecycle ------------------------------------------------------------

    headers(extra = {}) {
      return { Authorization: `Bearer ${this.conv.token}`, ...extra };
    }

    ensureConversation() {
      if (this.conv) return Promise.resolve(this.conv);
      if (!this.opening) {
        this.opening = this.openConversation().finally(() => {
          this.opening = null;
        });
      }
      return this.opening;
    }

    async openConversation() {
      const placeholder = el("p", { class: "starting", text: S.starting });
      if (!this.messages.childElementCount) this.messages.append(placeholder);
      let response;
      try {
        response = await fetch(`${API}/conversations`, {
          method: "POST",
          headers: { "Content-Type": "application/json", "X-Rafiq-Key": KEY },
          body: JSON.stringify({ locale: LOCALE, metadata: { page: (location.origin + location.pathname).slice(0, 500) } }),
        });
      } catch (_) {
        placeholder.remove();
        this.showAlert(`${S.errStart} ${S.errNetwork}`, () => this.ensureConversation());
        throw new Error("network");
      }
      placeholder.remove();
      if (!response.ok) {
        const error = await apiError(response);
        this.showAlert(`${S.errStart} ${errorText(error)}`, () => this.ensureConversation());
        throw new Error(error.code);
      }
      const opened = await response.json();
      this.hideAlert();
      this.conv = { id: opened.id, token: opened.token };
      this.lastEventId = null;
      storage.write({ id: opened.id, token: opened.token, lastEventId: null, feedback: {}, wait: {}, adviser: null });
      this.mutate(() => (opened.messages || []).forEach((m) => this.ingest(m)), true);
      this.setStatus(opened.status || "bot");
      this.connectEvents();
      return this.conv;
    }

    /** After a reload: the transcript, the status and the open handoff, then live events. */
    async restore(reopen) {
      try {
        await this.sync();
      } catch (error) {
        if (error && error.forget) {
          this.forget();
          if (reopen) this.open(false);
          return;
        }
        this.lastEventId = null; // the events stream syncs the transcript first
      }
      if (reopen) this.open(false);
      if (this.conv) this.connectEvents();
    }

    async sync() {
      const response = await fetch(`${API}/conversations/${encodeURIComponent(this.conv.id)}/messages`, {
        headers: this.headers(),
        cache: "no-store",
      });
      if (response.status === 401 || response.status === 404) throw { forget: true };
      if (!response.ok) throw { status: response.status };
      const transcript = await response.json();
      this.mutate(() => transcript.messages.forEach((m) => this.ingest(m)));
      const handoff = transcript.handoff;
      if (handoff && handoff.status === "waiting" && this.wait.handoff_id !== handoff.id) this.wait = { handoff_id: handoff.id };
      this.setStatus(transcript.status);
      if (Number.isInteger(transcript.last_event_id)) this.setLastEventId(transcript.last_event_id);
    }

    forget() {
      if (this.eventsAbort) this.eventsAbort.abort();
      clearTimeout(this.reconnectTimer);
      this.conv = null;
      this.lastEventId = null;
      this.feedback = {};
      this.wait = {};
      this.adviserName = null;
      this.byId.clear();
      this.deferred = [];
      this.messages.replaceChildren();
      storage.clear();
      this.backNotice = false;
      this.setStatus("bot");
      this.hideAlert();
    }

    startOver() {
      this.forget();
      this.ensureConversation().catch(() => undefined);
      this.input.focus();
    }

    setLastEventId(id) {
      if (this.lastEventId !== null && id <= this.lastEventId) return;
      this.lastEventId = id;
      storage.write({ lastEventId: id });
    }

    // -- live events -----------------------------------------------------------------------

    connectEvents() {
      if (!this.conv || this.eventsAbort || this.status === "closed") return;
      const controller = new AbortController();
      this.eventsAbort = controller;
      let announce;
      this.eventsReady = new Promise((resolve) => (announce = resolve));
      this.followEvents(controller, announce).finally(() => {
        announce();
        if (this.eventsAbort === controller) this.eventsAbort = null;
        if (!this.conv || this.status === "closed") return;
        if (!navigator.onLine) return; // the "online" event reconnects
        clearTimeout(this.reconnectTimer);
        const delay = this.eventsAttempt === 0 ? 500 : backoff(this.eventsAttempt - 1);
        this.reconnectTimer = setTimeout(() => this.connectEvents(), delay);
      });
    }

    async followEvents(controller, announce) {
      const conv = this.conv;
      let stall;
      const alive = () => {
        clearTimeout(stall);
        stall = setTimeout(() => controller.abort(), STALL_MS);
      };
      try {
        if (this.lastEventId === null) await this.sync();
        if (controller.signal.aborted || this.conv !== conv) return;
        const headers = this.headers({ Accept: "text/event-stream" });
        if (this.lastEventId !== null) headers["Last-Event-ID"] = String(this.lastEventId);
        const response = await fetch(`${API}/conversations/${encodeURIComponent(conv.id)}/events`, {
          headers,
          cache: "no-store",
          signal: controller.signal,
        });
        if (response.status === 401 || response.status === 404) throw { forget: true };
        if (!response.ok) throw { status: response.status };
        this.eventsAttempt = 0;
        this.online = true;
        this.renderConnection();
        announce();
        alive();
        await readEvents(response, (event) => this.onLiveEvent(event), alive);
        // The server ended the stream (a restart, a proxy timeout): reconnect at once.
      } catch (error) {
        if (error && error.forget) {
          if (this.conv === conv) this.forget();
          return;
        }
        if (!controller.signal.aborted || !navigator.onLine) {
          this.eventsAttempt += 1;
          if (this.eventsAttempt >= 2 || !navigator.onLine) {
            this.online = false;
            this.renderConnection();
          }
        }
      } finally {
        clearTimeout(stall);
      }
    }

    onLiveEvent({ event, data, id }) {
      if (!this.conv || (data.conversation_id && data.conversation_id !== this.conv.id)) return;
      if (event === "message" && data.message) {
        const fresh = this.mutate(() => this.ingest(data.message));
        if (fresh && !this.isOpen && data.message.role !== "customer") {
          this.unread += 1;
          this.renderBadge();
        }
      } else if (event === "status" && data.status) {
        if ("queue_position" in data || "advisers_available" in data) {
          this.wait = {
            handoff_id: data.handoff_id,
            queue_position: data.queue_position,
            expected_wait_s: data.expected_wait_s,
            advisers_available: data.advisers_available,
          };
          storage.write({ wait: this.wait });
        }
        this.setStatus(data.status);
      }
      if (id && /^\d+$/.test(id)) this.setLastEventId(Number(id));
    }

    renderConnection() {
      const online = this.online && navigator.onLine;
      this.connection.dataset.state = online ? "online" : "offline";
      this.connection.hidden = online;
      this.presence.dataset.state = online && this.status !== "closed" ? "online" : "offline";
    }

    // -- messages --------------------------------------------------------------------------

    /** One message from the API (open, transcript, live event); returns its element when it
     *  was new. Known ids are skipped, so nothing shows twice after a reconnect or reload. */
    ingest(message) {
      if (!message || !message.id || this.byId.has(message.id)) return null;
      if (message.role === "customer") {
        const pending = this.messages.querySelector(
          "[data-role=customer][data-delivery]:not([data-delivery=failed]):not([data-message-id])"
        );
        if (pending) {
          this.assignId(pending, message.id);
          return null;
        }
      }
      // While this tab streams an answer, the stored copy of it (a live event or a
      // transcript) waits: once the turn gives its message id, it is recognised.
      if (message.role === "bot" && this.inflight && message.action !== "welcome") {
        this.deferred.push(message);
        return null;
      }
      if (message.action === "welcome") return this.renderWelcome(message);
      if (message.role === "adviser" && message.author) {
        this.adviserName = message.author;
        storage.write({ adviser: message.author });
        this.renderStatus();
      }
      const node = this.bubble(message.role, message);
      const before = this.messages.lastElementChild;
      if (message.role === "adviser" && before && before.dataset.role === "adviser" && before.dataset.author === (message.author || "")) {
        node.classList.add("follow-up");
      }
      this.messages.append(node);
      return node;
    }

    assignId(node, id) {
      node.dataset.messageId = id;
      this.byId.set(id, node);
    }

    renderWelcome(message) {
      const welcome = this.messages.querySelectorAll("[data-welcome]");
      // A conversation opens with the greeting then the AI disclosure (both action=welcome).
      if (welcome.length === 1 && welcome[0].dataset.testid === "rafiq-message") {
        const disclosure = el("div", { class: "disclosure", "data-testid": "rafiq-disclosure", "data-welcome": "", role: "note" }, [
          icon("spark"),
          el("div", {}, [
            el("div", { class: "disclosure-title" }, [el("span", { class: "tag", text: S.aiBadge }), el("span", { text: S.disclosureTitle })]),
            el("p", { text: message.text, dir: textDir(message.text) }),
          ]),
        ]);
        this.assignId(disclosure, message.id);
        this.messages.insertBefore(disclosure, welcome[0]);
        return disclosure;
      }
      // The conversation's opening stays first, even under a message typed while it opened.
      const node = this.bubble("bot", message);
      node.dataset.welcome = "";
      const after = welcome[welcome.length - 1];
      this.messages.insertBefore(node, after ? after.nextSibling : this.messages.firstChild);
      return node;
    }

    bubble(role, message = {}) {
      const text = message.text || "";
      const node = el("div", {
        class: "msg",
        "data-testid": "rafiq-message",
        "data-role": role,
        "data-state": "done",
        dir: textDir(text),
      });
      if (message.id) this.assignId(node, message.id);
      const body = el("div", { class: "bubble" });
      const textNode = el("div", { class: "text", "data-testid": "rafiq-text" });
      renderText(textNode, text);
      body.append(textNode);
      node.append(el("span", { class: "sr", text: this.roleLabel(role, message.author) + (LOCALE === "fr" ? "\u00a0: " : ": ") }));
      if (role === "adviser") {
        node.dataset.author = message.author || "";
        node.append(el("div", { class: "author", dir: UI_DIR, text: message.author || S.adviser }));
      }
      node.append(body);
      node.append(el("div", { class: "meta", dir: UI_DIR }));
      this.setLang(node, text);
      if (role === "bot") this.finishBot(node, message);
      else this.renderMeta(node, message.created_at);
      return node;
    }

    roleLabel(role, author) {
      if (role === "customer") return S.you;
      if (role === "adviser") return author || S.adviser;
      if (role === "system") return S.system;
      return S.assistant;
    }

    setLang(node, text, language) {
      const dir = textDir(text);
      node.setAttribute("dir", dir);
      if (language) node.setAttribute("lang", language);
      else if (dir === "rtl") node.setAttribute("lang", "ar");
      else if (LOCALE === "ar") node.setAttribute("lang", ""); // Latin text: French, Arabizi...
      else node.removeAttribute("lang");
    }

    renderMeta(node, createdAt, extra = []) {
      const meta = node.querySelector(":scope > .meta");
      const role = node.dataset.role;
      const parts = [];
      if (role === "bot") parts.push(el("span", { text: S.assistant }), el("span", { "aria-hidden": "true", text: "·" }));
      parts.push(el("time", { datetime: createdAt || new Date().toISOString(), text: formatTime(createdAt) }));
      meta.replaceChildren(...parts, ...extra);
    }

    /** A bot message's final form: text, sources, feedback. */
    finishBot(node, result) {
      node.dataset.state = "done";
      if (result.message_id || result.id) {
        const id = result.message_id || result.id;
        if (!this.byId.has(id)) this.assignId(node, id);
      }
      const textNode = node.querySelector("[data-testid=rafiq-text]");
      renderText(textNode, result.text || "");
      this.setLang(node, result.text || "", result.language && result.language.reply);
      const body = node.querySelector(".bubble");
      const old = body.querySelector(".citations");
      if (old) old.remove();
      const citations = result.citations || [];
      if (citations.length) body.append(this.citations(citations));
      const extra = [];
      const action = result.action;
      if (node.dataset.messageId && action !== "welcome" && action !== "escalate") extra.push(this.feedbackButtons(node.dataset.messageId));
      this.renderMeta(node, result.created_at, extra);
    }

    citations(list) {
      const wrap = el("div", { class: "citations", "data-testid": "rafiq-citations", dir: UI_DIR });
      const chips = el("div", { class: "chips" });
      const details = el("div", { class: "source", hidden: true });
      const seen = new Set();
      let open = null;
      for (const citation of list) {
        const name = citation.title || citation.source || "";
        const key = `${citation.source}|${citation.title}`;
        if (!name || seen.has(key)) continue;
        seen.add(key);
        const chip = el(
          "button",
          { type: "button", class: "chip", "data-testid": "rafiq-citation", "aria-expanded": "false", title: name },
          [icon("doc"), el("span", { class: "chip-label", text: name, dir: textDir(name) })]
        );
        chip.setAttribute("aria-label", fill(S.source, { t: name }));
        chip.addEventListener("click", () => {
          const opening = open !== chip;
          if (open) open.setAttribute("aria-expanded", "false");
          open = opening ? chip : null;
          chip.setAttribute("aria-expanded", String(opening));
          details.hidden = !opening;
          if (opening) {
            const excerpt = citation.excerpt || citation.text || citation.snippet;
            details.replaceChildren(
              ...[
                el("div", { class: "source-title", text: citation.title || citation.source, dir: textDir(name) }),
                citation.title && citation.source ? el("div", { class: "source-file", text: fill(S.document, { t: citation.source }) }) : null,
                excerpt ? el("p", { class: "source-excerpt", text: excerpt, dir: textDir(excerpt) }) : null,
              ].filter(Boolean)
            );
            details.scrollIntoView({ block: "nearest" });
          }
        });
        chips.append(chip);
      }
      wrap.append(el("div", { class: "citations-label", text: S.sources }), chips, details);
      return wrap;
    }

    feedbackButtons(messageId) {
      const group = el("span", { class: "feedback", role: "group", "aria-label": `${S.feedbackUp} / ${S.feedbackDown}` });
      const thanks = el("span", { class: "thanks", "aria-live": "polite" });
      const buttons = {};
      for (const rating of ["up", "down"]) {
        const label = rating === "up" ? S.feedbackUp : S.feedbackDown;
        const button = el(
          "button",
          {
            type: "button",
            "data-testid": `rafiq-feedback-${rating}`,
            "aria-pressed": String(this.feedback[messageId] === rating),
            "aria-label": label,
            title: label,
          },
          icon(rating)
        );
        button.addEventListener("click", () => this.rate(messageId, rating, buttons, thanks));
        buttons[rating] = button;
        group.append(button);
      }
      group.append(thanks);
      return group;
    }

    async rate(messageId, rating, buttons, thanks) {
      const previous = this.feedback[messageId];
      if (previous === rating) return;
      const show = (value) => {
        for (const [name, button] of Object.entries(buttons)) button.setAttribute("aria-pressed", String(name === value));
      };
      show(rating);
      try {
        const response = await fetch(`${API}/conversations/${encodeURIComponent(this.conv.id)}/feedback`, {
          method: "POST",
          headers: this.headers({ "Content-Type": "application/json" }),
          body: JSON.stringify({ message_id: messageId, rating }),
        });
        if (!response.ok) throw await apiError(response);
        this.feedback[messageId] = rating;
        storage.write({ feedback: this.feedback });
        thanks.textContent = S.feedbackThanks;
        setTimeout(() => (thanks.textContent = ""), 4000);
      } catch (error) {
        show(previous);
        this.showAlert(errorText(error && error.status ? error : null));
      }
    }

    // -- sending ---------------------------------------------------------------------------

    onInput() {
      const input = this.input;
      input.dir = textDir(input.value, UI_DIR);
      input.style.height = "auto";
      input.style.height = `${Math.min(input.scrollHeight, 132)}px`;
      const left = MAX_CHARS - input.value.length;
      this.counter.hidden = input.value.length < COUNTER_FROM;
      this.counter.textContent = fill(S.charsLeft, { n: Math.max(0, left) });
      this.renderComposer();
    }

    renderComposer() {
      const closed = this.status === "closed";
      this.input.disabled = closed;
      this.sendButton.disabled = closed || this.busy || !this.input.value.trim();
      this.input.placeholder = closed
        ? S.placeholderClosed
        : this.status === "waiting_human" && this.wait.advisers_available === false
          ? S.placeholderLeave
          : S.placeholder;
      this.toolbar.hidden = this.status !== "bot";
    }

    submit() {
      const text = this.input.value.trim();
      if (!text || this.busy || this.status === "closed") return;
      this.input.value = "";
      this.onInput();
      this.hideAlert();
      this.send(text, uuid());
    }

    async send(text, clientId, existing) {
      this.busy = true;
      this.inflight = true;
      this.renderComposer();
      const node =
        existing ||
        this.mutate(() => {
          const created = this.bubble("customer", { text, created_at: new Date().toISOString() });
          this.messages.append(created);
          return created;
        }, true);
      node.clientId = clientId;
      this.delivery(node, "sending");
      try {
        await this.ensureConversation();
        if (this.eventsReady) await Promise.race([this.eventsReady, sleep(EVENTS_READY_WAIT_MS)]);
        await this.deliver(node, text, clientId);
      } catch (error) {
        this.delivery(node, "failed", () => this.send(text, node.clientId, node));
      } finally {
        this.busy = false;
        this.inflight = false;
        this.flushDeferred();
        this.renderComposer();
      }
    }

    delivery(node, state, retry) {
      node.dataset.delivery = state;
      const meta = node.querySelector(":scope > .meta");
      if (state === "sent") {
        this.renderMeta(node, node.querySelector("time") && node.querySelector("time").getAttribute("datetime"));
        return;
      }
      const parts = [];
      if (state === "sending") parts.push(el("span", { text: navigator.onLine ? S.sending : S.waitingNetwork }));
      if (state === "failed") {
        parts.push(el("span", { class: "failed", text: S.notSent }));
        if (retry) {
          const again = el("button", { type: "button", class: "link", text: S.retry });
          again.addEventListener("click", () => {
            if (!this.busy) retry();
          });
          parts.push(el("span", { "aria-hidden": "true", text: "·" }), again);
        }
      }
      meta.replaceChildren(...parts);
    }

    /** POSTs the message until it gets an answer; a retry carries the same client id, so
     *  the server answers it with the first result instead of running a second turn. */
    async deliver(node, text, clientId) {
      let bot = null;
      for (let attempt = 0; ; attempt += 1) {
        if (!navigator.onLine) {
          this.delivery(node, "sending");
          await waitOnline();
        }
        const controller = new AbortController();
        let stall;
        const alive = () => {
          clearTimeout(stall);
          stall = setTimeout(() => controller.abort(), ANSWER_STALL_MS);
        };
        alive();
        let response;
        try {
          response = await fetch(`${API}/conversations/${encodeURIComponent(this.conv.id)}/messages`, {
            method: "POST",
            headers: this.headers({ "Content-Type": "application/json", Accept: "text/event-stream" }),
            body: JSON.stringify({ text, client_message_id: clientId }),
            signal: controller.signal,
          });
        } catch (_) {
          clearTimeout(stall);
          if (attempt + 1 >= SEND_ATTEMPTS) {
            this.dropBot(bot);
            this.showAlert(S.errNetwork);
            throw new Error("network");
          }
          this.delivery(node, "sending");
          await Promise.race([sleep(backoff(attempt)), navigator.onLine ? new Promise(() => undefined) : waitOnline()]);
          continue;
        }
        if (!response.ok) {
          clearTimeout(stall);
          const error = await apiError(response);
          if (error.code === "in_progress" && attempt + 1 < SEND_ATTEMPTS) {
            // The server waited 30 s for the first attempt in vain (that turn failed, or is
            // stuck): asking again under a new id beats waiting forever.
            clientId = uuid();
            node.clientId = clientId;
            node.removeAttribute("data-message-id"); // the new copy's id comes by the live stream
            continue;
          }
          const transient = response.status >= 500;
          if (transient && attempt + 1 < SEND_ATTEMPTS) {
            await sleep(backoff(attempt));
            continue;
          }
          this.dropBot(bot);
          this.refused(node, text, error);
          return;
        }
        this.delivery(node, "sent");
        if (response.status === 202) {
          clearTimeout(stall);
          this.dropBot(bot);
          this.relayed(node, await response.json());
          return;
        }
        const type = response.headers.get("Content-Type") || "";
        if (!type.includes("text/event-stream")) {
          clearTimeout(stall);
          const document_ = await response.json();
          if (document_.text === undefined) {
            this.dropBot(bot);
            this.relayed(node, document_);
          } else {
            bot = bot || this.startBot();
            this.turn(bot, document_);
          }
          return;
        }
        bot = bot || this.startBot();
        const outcome = await this.stream(bot, response, alive);
        clearTimeout(stall);
        if (outcome && outcome.text !== undefined) {
          this.turn(bot, outcome);
          return;
        }
        if (outcome) {
          this.dropBot(bot);
          this.relayed(node, outcome);
          return;
        }
        // The stream broke before the turn arrived: ask again with the same client id.
        bot.raw = "";
        this.mutate(() => this.showTyping(bot));
        this.delivery(node, "sending");
        if (attempt + 1 >= SEND_ATTEMPTS) {
          this.dropBot(bot);
          this.showAlert(S.errNetwork);
          throw new Error("stream");
        }
        await sleep(backoff(attempt));
      }
    }

    startBot() {
      return this.mutate(() => {
        const node = this.bubble("bot", {});
        node.dataset.state = "streaming";
        node.setAttribute("aria-busy", "true");
        node.raw = "";
        this.showTyping(node);
        this.messages.append(node);
        return node;
      }, true);
    }

    showTyping(node) {
      const text = node.querySelector("[data-testid=rafiq-text]");
      text.replaceChildren(el("span", { class: "typing", role: "img", "aria-label": S.writing }, [el("i"), el("i"), el("i")]));
      node.dataset.state = "streaming";
      node.querySelector(":scope > .meta").replaceChildren();
    }

    async stream(bot, response, alive) {
      let outcome = null;
      try {
        await readEvents(
          response,
          ({ event, data }) => {
            if (event === "delta" && typeof data.text === "string") {
              bot.raw += data.text;
              const shown = streamedText(bot.raw);
              this.mutate(() => {
                renderText(bot.querySelector("[data-testid=rafiq-text]"), shown);
                this.setLang(bot, shown);
              });
            } else if (event === "turn" || event === "relayed") {
              outcome = data;
            }
          },
          alive
        );
      } catch (_) {
        /* the network broke mid-answer: the caller retries */
      }
      if (outcome && outcome.__relayed__) {
        const { __relayed__: _, ...rest } = outcome;
        return rest;
      }
      return outcome;
    }

    turn(bot, result) {
      const shown = this.byId.get(result.message_id);
      if (shown && shown !== bot) {
        bot.remove(); // it came first by the live stream
        if (result.conversation_status) this.setStatus(result.conversation_status);
        return;
      }
      this.mutate(() => {
        bot.removeAttribute("aria-busy");
        this.finishBot(bot, result);
      });
      if (result.conversation_status) this.setStatus(result.conversation_status);
    }

    dropBot(bot) {
      if (bot) bot.remove();
    }

    relayed(node, document_) {
      if (document_.message_id && !this.byId.has(document_.message_id)) this.assignId(node, document_.message_id);
      if (document_.conversation_status) this.setStatus(document_.conversation_status);
    }

    refused(node, text, error) {
      if (error.status === 413 || error.status === 422) {
        // Nothing was stored: give the text back to edit.
        node.remove();
        if (!this.input.value) {
          this.input.value = text;
          this.onInput();
        }
        this.showAlert(errorText(error));
        return;
      }
      if (error.code === "conversation_closed") {
        this.delivery(node, "failed");
        this.setStatus("closed");
        return;
      }
      if (error.status === 401 || error.status === 404) {
        this.delivery(node, "failed");
        this.showAlert(S.errClosed);
        this.setStatus("closed");
        return;
      }
      this.delivery(node, "failed", () => this.send(text, node.clientId, node));
      this.showAlert(errorText(error));
    }

    flushDeferred() {
      const pending = this.deferred;
      this.deferred = [];
      if (pending.length) this.mutate(() => pending.forEach((m) => this.ingest(m)));
    }

    showAlert(text, retry) {
      const parts = [icon("alert"), el("span", { text })];
      if (retry) {
        const again = el("button", { type: "button", class: "pill", text: S.retry });
        again.addEventListener("click", () => {
          this.hideAlert();
          retry().catch(() => undefined);
        });
        parts.push(again);
      }
      this.alert.replaceChildren(...parts);
      this.alert.hidden = false;
    }

    hideAlert() {
      this.alert.hidden = true;
      this.alert.replaceChildren();
    }

    // -- handoff and status ----------------------------------------------------------------

    async askForHuman() {
      this.handoffButton.disabled = true;
      try {
        await this.ensureConversation();
        const response = await fetch(`${API}/conversations/${encodeURIComponent(this.conv.id)}/handoff`, {
          method: "POST",
          headers: this.headers({ "Content-Type": "application/json" }),
          body: "{}",
        });
        if (!response.ok) throw await apiError(response);
        const state = await response.json();
        if ("queue_position" in state || "advisers_available" in state) {
          this.wait = { handoff_id: state.handoff_id, ...state };
          storage.write({ wait: this.wait });
        }
        this.setStatus(state.conversation_status);
      } catch (error) {
        if (error && error.code === "conversation_closed") this.setStatus("closed");
        else this.showAlert(error && error.status ? errorText(error) : S.errHandoff);
      } finally {
        this.handoffButton.disabled = false;
      }
    }

    async cancelHandoff(button) {
      button.disabled = true;
      try {
        const response = await fetch(`${API}/conversations/${encodeURIComponent(this.conv.id)}/handoff`, {
          method: "DELETE",
          headers: this.headers(),
        });
        if (!response.ok && response.status !== 409) throw await apiError(response);
        const state = response.ok ? await response.json() : null;
        if (state) this.setStatus(state.conversation_status);
        else await this.sync();
      } catch (error) {
        this.showAlert(error && error.status ? errorText(error) : S.errNetwork);
        button.disabled = false;
      }
    }

    setStatus(status) {
      const previous = this.status;
      if (status === previous && this.statusBar.dataset.status === status) {
        this.renderStatus();
        this.renderComposer();
        return;
      }
      this.status = status;
      this.backNotice = status === "bot" && (previous === "human" || previous === "waiting_human");
      if (status === "bot" || status === "closed") {
        this.wait = {};
        storage.write({ wait: {} });
      }
      if (status !== "human" && previous === "human") {
        this.adviserName = null;
        storage.write({ adviser: null });
      }
      clearTimeout(this.backTimer);
      if (this.backNotice) {
        this.backTimer = setTimeout(() => {
          this.backNotice = false;
          this.renderStatus();
        }, 8000);
      }
      if (status === "closed" && this.eventsAbort) this.eventsAbort.abort();
      this.renderStatus();
      this.renderComposer();
      this.renderConnection();
    }

    renderStatus() {
      const bar = this.statusBar;
      const status = this.status;
      bar.dataset.status = status;
      const parts = [];
      let subtitle = S.subtitleBot;
      if (status === "waiting_human") {
        subtitle = S.subtitleWaiting;
        const details = [];
        const wait = this.wait;
        if (wait.advisers_available === false) details.push(S.leave);
        else {
          if (wait.queue_position) details.push(fill(S.queue, { n: wait.queue_position }));
          if (wait.expected_wait_s) details.push(fill(S.wait, { m: Math.max(1, Math.round(wait.expected_wait_s / 60)) }));
        }
        const cancel = el("button", {
          type: "button",
          class: "pill",
          "data-testid": "rafiq-handoff-cancel",
          "aria-label": S.cancelLabel,
          text: S.cancel,
        });
        cancel.addEventListener("click", () => this.cancelHandoff(cancel));
        parts.push(
          el("span", { class: "spinner", "aria-hidden": "true" }),
          el("div", { class: "status-body" }, [
            el("div", { class: "status-title", text: S.waiting }),
            details.length ? el("div", { class: "status-detail", text: details.join(" · ") }) : null,
          ]),
          cancel
        );
      } else if (status === "human") {
        subtitle = this.adviserName ? `${this.adviserName} · ${S.subtitleHuman}` : S.subtitleHuman;
        parts.push(
          icon("user"),
          el("div", { class: "status-body" }, [
            el("div", { class: "status-title", text: this.adviserName ? fill(S.humanNamed, { name: this.adviserName }) : S.human }),
          ])
        );
      } else if (status === "closed") {
        subtitle = S.subtitleClosed;
        const again = el("button", { type: "button", class: "pill primary", text: S.newConversation });
        again.addEventListener("click", () => this.startOver());
        parts.push(icon("check"), el("div", { class: "status-body" }, [el("div", { class: "status-title", text: S.closed })]), again);
      } else if (this.backNotice) {
        parts.push(icon("back"), el("div", { class: "status-body" }, [el("div", { class: "status-title", text: S.back })]));
      }
      bar.replaceChildren(...parts);
      bar.hidden = parts.length === 0;
      this.subtitle.textContent = subtitle;
      const face = status === "human" ? "user" : "bot";
      if (this.avatarIcon.dataset.face !== face) {
        const next = icon(face);
        next.dataset.face = face;
        this.avatarIcon.replaceWith(next);
        this.avatarIcon = next;
      }
    }
  }

  function isColor(value) {
    try {
      return window.CSS && CSS.supports("color", value);
    } catch (_) {
      return false;
    }
  }

  function start() {
    try {
      new Widget();
    } catch (error) {
      console.error("Rafiq widget failed to start", error);
    }
  }

  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start, { once: true });
})();
