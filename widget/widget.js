/* Neurobot web chat: a small client of the bot's socket.io channel.
 *
 * - Every bot message names its response in a card payload (bot_uttered's
 *   metadata.custom: {"response": "utter_archive_answer", "title": ..., ...}); the page
 *   draws by that name and those fields, never by the message's wording: the archive
 *   answers as cards, the emergency and crisis messages as an alert, the safety advice
 *   as a framed note, anything else as a bubble with its text.
 * - Every word of its own (labels, status lines) comes from the chat's markup: data
 *   attributes of the element with id "neurobot" (index.html). The disclaimer and the
 *   emergency number come from the server (config.json, read from domain.yml and the
 *   settings).
 * - On another site, <div id="neurobot"></div> and this script's tag are enough: the
 *   script finds the bot's address in its own src, loads the chat's markup (index.html),
 *   its style and the socket.io client from there. NEUROBOT_ALLOWED_ORIGINS must name
 *   the site's origin.
 * - The session id is handed out and signed by the server (session_confirm); it lives in
 *   localStorage and is sent with session_request, so a reload continues the same
 *   conversation. The messages shown are kept in localStorage too and drawn again after
 *   a reload. When the server answers with another id (the kept one no longer verifies),
 *   the conversation is a new one and the kept messages are forgotten.
 * - "Start a new conversation" forgets both and asks the server for a new session.
 * - When the server cannot be reached, a status line says so after a few seconds.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var BASE = new URL("./", script && script.src ? script.src : window.location.href).href;
  var SERVER = new URL(BASE).origin;
  var KEY_SESSION = "neurobot.session";
  var KEY_HISTORY = "neurobot.history";
  var MAX_HISTORY = 200;
  var OFFLINE_AFTER_MS = 3000;
  var NO_REPLY_AFTER_MS = 20000;
  var SIMILAR_PAYLOAD = "/ask_similar_question";
  /** How each response is drawn, by name; a response not listed is a bubble. */
  var DRAWN_AS = {
    utter_archive_answer: "card",
    utter_similar_answer: "card",
    utter_chosen_answer: "card",
    utter_full_reply: "card",
    utter_emergency: "emergency",
    utter_self_harm: "emergency",
    utter_safety_advice: "safety",
  };

  var config = { disclaimer: null, emergency_number: null };
  var root, log, form, input, statusBox, disclaimer, restart;

  var connected = false;
  var offlineTimer = null;
  var replyTimer = null;
  var typingItem = null;
  var socket = null;
  var asked = null; // the session id sent with the last session_request

  /** A label of the chat's markup (data-<name> of #neurobot). */
  function label(name) {
    return root.getAttribute("data-" + name) || "";
  }

  // ------------------------------------------------------------------ storage

  function load(key, fallback) {
    try {
      var raw = window.localStorage.getItem(key);
      return raw === null ? fallback : JSON.parse(raw);
    } catch (e) {
      return fallback;
    }
  }

  function save(key, value) {
    try {
      window.localStorage.setItem(key, JSON.stringify(value));
    } catch (e) {
      /* private mode or full storage: the conversation simply is not kept */
    }
  }

  var history = load(KEY_HISTORY, []);
  if (!Array.isArray(history)) history = [];

  function remember(entry) {
    history.push(entry);
    if (history.length > MAX_HISTORY) history = history.slice(-MAX_HISTORY);
    save(KEY_HISTORY, history);
  }

  function forget(key) {
    try {
      window.localStorage.removeItem(key);
    } catch (e) {
      /* nothing was kept */
    }
  }

  /** Forget the conversation: the messages shown and kept, and the session id. */
  function clearConversation() {
    history = [];
    forget(KEY_HISTORY);
    forget(KEY_SESSION);
    while (log.firstChild) log.removeChild(log.firstChild);
    stopTyping();
  }

  // ------------------------------------------------------------------- status

  function showStatus(text, kind) {
    statusBox.textContent = text;
    statusBox.className = "status" + (kind ? " " + kind : "");
    statusBox.hidden = false;
  }

  function hideStatus() {
    statusBox.hidden = true;
    statusBox.textContent = "";
  }

  function offlineText() {
    var number = config.emergency_number || label("emergency-number");
    return label("offline").split("{emergency_number}").join(number);
  }

  function scheduleOffline() {
    if (offlineTimer !== null) return;
    offlineTimer = window.setTimeout(function () {
      offlineTimer = null;
      if (!connected) {
        stopTyping();
        showStatus(offlineText());
      }
    }, OFFLINE_AFTER_MS);
  }

  // ---------------------------------------------------------------- rendering

  /** A framed message with a bold heading: the emergency alert and the safety note. */
  function headedBox(className, role, ariaLabel, heading, text) {
    var box = document.createElement("div");
    box.className = className;
    box.setAttribute("role", role);
    if (ariaLabel) box.setAttribute("aria-label", ariaLabel);
    var strong = document.createElement("strong");
    strong.textContent = heading;
    box.appendChild(strong);
    box.appendChild(document.createTextNode(text));
    return box;
  }

  function item(className) {
    var li = document.createElement("li");
    li.className = className;
    return li;
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /** The paragraphs of an archived reply (blank lines between them), each a <p>. */
  function paragraphs(parent, text) {
    String(text || "").split("\n\n").forEach(function (part) {
      if (!part.trim()) return;
      parent.appendChild(element("p", null, part.trim()));
    });
  }

  function optionButtons(buttons) {
    var group = element("div", "options");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", label("options"));
    var labelled = false;
    buttons.forEach(function (button) {
      var similar = String(button.payload || "").indexOf(SIMILAR_PAYLOAD) === 0;
      if (similar && !labelled) {
        group.appendChild(element("p", "similar-label", label("similar")));
        labelled = true;
      }
      var b = element("button", similar ? null : "primary", button.title);
      b.type = "button";
      b.setAttribute(
        "aria-label", similar ? label("similar-button") + " " + button.title : button.title
      );
      b.addEventListener("click", function () {
        send(String(button.payload), String(button.title));
      });
      group.appendChild(b);
    });
    return group;
  }

  function renderUser(text) {
    var li = item("from-user");
    var bubble = element("div", "bubble");
    bubble.appendChild(element("span", "visually-hidden", label("you-said") + " "));
    bubble.appendChild(document.createTextNode(text));
    li.appendChild(bubble);
    log.appendChild(li);
    return li;
  }

  /** An archived question and its reply (or excerpt), drawn from the card's fields. */
  function answerCard(card, buttons) {
    var kind = label("card-" + card.response);
    var article = element("article", "card");
    article.setAttribute("aria-label", kind + ": " + card.title);
    article.appendChild(element("p", "card-kind", kind));
    article.appendChild(element("h3", "card-title", "“" + card.title + "”"));
    article.appendChild(element("p", "attribution", label("answered-by") + " " + card.attribution));
    var body = element("div", "excerpt");
    paragraphs(body, card.reply !== undefined ? card.reply : card.excerpt);
    article.appendChild(body);
    if (buttons.length) article.appendChild(optionButtons(buttons));
    return article;
  }

  function renderBot(text, buttons, card) {
    text = String(text || "");
    buttons = Array.isArray(buttons) ? buttons : [];
    var drawn = card && typeof card.response === "string" ? DRAWN_AS[card.response] : null;
    var li = item("from-bot");
    if (drawn === "card") {
      li.appendChild(answerCard(card, buttons));
    } else if (drawn === "emergency") {
      li.appendChild(headedBox("emergency", "alert", null, label("urgent"), text));
    } else if (drawn === "safety") {
      li.appendChild(
        headedBox("safety", "note", label("safety"), label("safety-heading"), text)
      );
    } else {
      var bubble = element("div", "bubble", text);
      if (buttons.length) bubble.appendChild(optionButtons(buttons));
      li.appendChild(bubble);
    }
    if (card && card.response) li.setAttribute("data-response", card.response);
    log.appendChild(li);
    return li;
  }

  function render(entry) {
    return entry.from === "user"
      ? renderUser(entry.text)
      : renderBot(entry.text, entry.buttons, entry.card);
  }

  function scrollDown(li) {
    if (li && li.scrollIntoView) li.scrollIntoView({ block: "nearest" });
  }

  function startTyping() {
    stopTyping();
    typingItem = item("from-bot typing");
    typingItem.setAttribute("aria-hidden", "true");
    typingItem.textContent = label("typing");
    log.appendChild(typingItem);
    replyTimer = window.setTimeout(function () {
      stopTyping();
      showStatus(label("no-reply"));
    }, NO_REPLY_AFTER_MS);
  }

  function stopTyping() {
    if (replyTimer !== null) window.clearTimeout(replyTimer);
    replyTimer = null;
    if (typingItem && typingItem.parentNode) typingItem.parentNode.removeChild(typingItem);
    typingItem = null;
  }

  // ------------------------------------------------------------------ talking

  function send(message, shown) {
    if (!connected || !socket) {
      showStatus(offlineText());
      return false;
    }
    hideStatus();
    var entry = { from: "user", text: shown || message };
    remember(entry);
    scrollDown(render(entry));
    // the server sends it to the session this socket joined
    socket.emit("user_uttered", { message: message });
    startTyping();
    input.focus();
    return true;
  }

  function onBotMessage(data) {
    data = data || {};
    var buttons = (data.buttons || []).map(function (b) {
      return { title: b.title, payload: b.payload };
    });
    var card = (data.metadata && data.metadata.custom) || data.custom || null;
    var entry = { from: "bot", text: data.text || "", buttons: buttons, card: card };
    stopTyping();
    hideStatus();
    remember(entry);
    scrollDown(render(entry));
  }

  function requestSession(id) {
    asked = typeof id === "string" && id ? id : null;
    socket.emit("session_request", { session_id: asked });
  }

  function connect() {
    if (typeof window.io !== "function") {
      showStatus(label("no-client"));
      return;
    }
    socket = window.io(SERVER, {
      path: "/socket.io",
      reconnectionDelayMax: 10000,
      timeout: 5000,
    });
    socket.on("connect", function () {
      connected = true;
      if (offlineTimer !== null) window.clearTimeout(offlineTimer);
      offlineTimer = null;
      hideStatus();
      requestSession(load(KEY_SESSION, null));
    });
    socket.on("session_confirm", function (sessionId) {
      var id = typeof sessionId === "string" ? sessionId : (sessionId && sessionId.session_id);
      if (!id) return;
      // the server renews the signed id of the same session ("<id>.<time>.<signature>");
      // another id is a new session (ours was unknown or idle too long)
      if (asked !== null && id.split(".")[0] !== asked.split(".")[0]) clearConversation();
      asked = id;
      save(KEY_SESSION, id);
    });
    socket.on("bot_uttered", onBotMessage);
    socket.on("connect_error", function () {
      connected = false;
      scheduleOffline();
    });
    socket.on("disconnect", function () {
      connected = false;
      scheduleOffline();
    });
    scheduleOffline();
  }

  // -------------------------------------------------------------------- setup

  function bind() {
    log = document.getElementById("log");
    form = document.getElementById("composer");
    input = document.getElementById("message");
    statusBox = document.getElementById("status");
    disclaimer = document.getElementById("disclaimer");
    restart = document.getElementById("restart");

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = input.value.trim();
      if (!text) return;
      if (send(text)) input.value = "";
    });

    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        if (form.requestSubmit) form.requestSubmit();
        else form.dispatchEvent(new Event("submit", { cancelable: true }));
      }
    });

    restart.addEventListener("click", function () {
      clearConversation();
      if (socket && connected) {
        hideStatus();
        requestSession(null);
      }
      input.focus();
    });
  }

  function start() {
    history.forEach(render);
    if (log.lastChild) scrollDown(log.lastChild);
    connect();
  }

  function loadScript(src) {
    return new Promise(function (resolve) {
      var tag = document.createElement("script");
      tag.src = src;
      tag.onload = resolve;
      tag.onerror = resolve; // connect() then says the client is missing
      document.head.appendChild(tag);
    });
  }

  /** On another site: the chat's markup (#neurobot of index.html) and style, from the bot. */
  function embed(placeholder) {
    var style = document.createElement("link");
    style.rel = "stylesheet";
    style.href = BASE + "widget.css";
    document.head.appendChild(style);
    return fetch(BASE + "index.html")
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html");
        var chat = document.importNode(page.getElementById("neurobot"), true);
        placeholder.parentNode.replaceChild(chat, placeholder);
        return chat;
      });
  }

  function setUp() {
    var found = document.getElementById("neurobot");
    if (!found) return;
    var ready = found.querySelector("#log") ? Promise.resolve(found) : embed(found);
    ready
      .then(function (chat) {
        root = chat;
        bind();
        return typeof window.io === "function" ? null : loadScript(BASE + "socket.io.min.js");
      })
      .then(function () {
        return fetch(BASE + "config.json", { cache: "no-cache" });
      })
      .then(function (r) { return r.ok ? r.json() : {}; })
      .then(function (loaded) {
        Object.keys(loaded || {}).forEach(function (k) { config[k] = loaded[k]; });
        if (config.disclaimer) disclaimer.textContent = config.disclaimer;
      })
      .catch(function () { /* keep the page's own texts */ })
      .then(function () {
        if (root) start();
      });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setUp);
  else setUp();
})();
