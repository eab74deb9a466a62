/* Neurobot demo widget: a small client of Rasa's socket.io channel.
 *
 * - The session id is handed out and signed by the server (session_confirm); it lives in
 *   localStorage and is sent with session_request, so a reload continues the same
 *   conversation. The messages shown are kept in localStorage too and drawn again after
 *   a reload. When the server answers with another id (the kept one no longer verifies),
 *   the conversation is a new one and the kept messages are forgotten.
 * - "Start a new conversation" forgets both (the session id and the messages) and asks
 *   the server for a new session.
 * - An archive answer ("The most similar question in the archive is “…”.\nAnswered by:
 *   …\n\n…") is shown as a card; the safety advice and the emergency messages are
 *   recognised by their first sentence (from /webhooks/widget/config.json, read from
 *   domain.yml) and shown apart.
 * - When the server cannot be reached, a status line says so after a few seconds.
 */
(function () {
  "use strict";

  var BASE = "/webhooks/widget/";
  var KEY_SESSION = "neurobot.session";
  var KEY_HISTORY = "neurobot.history";
  var MAX_HISTORY = 200;
  var OFFLINE_AFTER_MS = 3000;
  var NO_REPLY_AFTER_MS = 20000;
  var CARD = /^(The most similar question in the archive is|Another similar question in the archive is|The archived question you chose is|The full reply to) “([\s\S]+?)”\.?\n(Answered by: [^\n]*)\n\n([\s\S]*)$/;
  var CARD_KIND = {
    "The most similar question in the archive is": "The most similar question in the archive",
    "Another similar question in the archive is": "Another similar question in the archive",
    "The archived question you chose is": "The archived question you chose",
    "The full reply to": "The full reply",
  };

  var config = {
    disclaimer: null,
    safety: ["Important: the archived replies I show"],
    emergency: ["What you describe can be a sign of an emergency", "I am sorry you are feeling this way"],
    emergency_number: "112",
  };

  var log = document.getElementById("log");
  var form = document.getElementById("composer");
  var input = document.getElementById("message");
  var statusBox = document.getElementById("status");
  var disclaimer = document.getElementById("disclaimer");
  var restart = document.getElementById("restart");

  var connected = false;
  var offlineTimer = null;
  var replyTimer = null;
  var typingItem = null;
  var socket = null;
  var asked = null; // the session id sent with the last session_request

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
    return "Cannot reach the server. Your message cannot be sent right now; please check " +
      "your internet connection or try again in a few minutes. In an emergency, call " +
      config.emergency_number + " now.";
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
  function headedBox(className, role, label, heading, text) {
    var box = document.createElement("div");
    box.className = className;
    box.setAttribute("role", role);
    if (label) {
      box.setAttribute("aria-label", label);
    }
    var strong = document.createElement("strong");
    strong.textContent = heading;
    box.appendChild(strong);
    box.appendChild(document.createTextNode(text));
    return box;
  }

  function startsWithAny(text, openings) {
    for (var i = 0; i < openings.length; i++) {
      if (openings[i] && text.indexOf(openings[i]) === 0) return true;
    }
    return false;
  }

  function item(className) {
    var li = document.createElement("li");
    li.className = className;
    return li;
  }

  function paragraphs(parent, text) {
    text.split(/\n\s*\n/).forEach(function (part) {
      if (!part.trim()) return;
      var p = document.createElement("p");
      p.textContent = part.trim();
      parent.appendChild(p);
    });
  }

  function optionButtons(buttons) {
    var group = document.createElement("div");
    group.className = "options";
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "What would you like to do next?");
    var labelled = false;
    buttons.forEach(function (button) {
      var similar = String(button.payload || "").indexOf("/ask_similar_question") === 0;
      if (similar && !labelled) {
        var label = document.createElement("p");
        label.className = "similar-label";
        label.textContent = "Similar questions in the archive:";
        group.appendChild(label);
        labelled = true;
      }
      var b = document.createElement("button");
      b.type = "button";
      b.textContent = button.title;
      if (!similar) b.className = "primary";
      b.setAttribute("aria-label", similar ? "Similar question: " + button.title : button.title);
      b.addEventListener("click", function () {
        send(String(button.payload), String(button.title));
      });
      group.appendChild(b);
    });
    return group;
  }

  function renderUser(text) {
    var li = item("from-user");
    var bubble = document.createElement("div");
    bubble.className = "bubble";
    var hidden = document.createElement("span");
    hidden.className = "visually-hidden";
    hidden.textContent = "You said: ";
    bubble.appendChild(hidden);
    bubble.appendChild(document.createTextNode(text));
    li.appendChild(bubble);
    log.appendChild(li);
    return li;
  }

  function renderBot(text, buttons) {
    text = String(text || "");
    buttons = Array.isArray(buttons) ? buttons : [];
    var li = item("from-bot");
    var card = CARD.exec(text);
    if (card) {
      var article = document.createElement("article");
      article.className = "card";
      article.setAttribute("aria-label", CARD_KIND[card[1]] + ": " + card[2]);
      var kind = document.createElement("p");
      kind.className = "card-kind";
      kind.textContent = CARD_KIND[card[1]];
      var title = document.createElement("h3");
      title.className = "card-title";
      title.textContent = "“" + card[2] + "”";
      var by = document.createElement("p");
      by.className = "attribution";
      by.textContent = card[3];
      var body = document.createElement("div");
      body.className = "excerpt";
      paragraphs(body, card[4]);
      article.appendChild(kind);
      article.appendChild(title);
      article.appendChild(by);
      article.appendChild(body);
      if (buttons.length) article.appendChild(optionButtons(buttons));
      li.appendChild(article);
    } else if (startsWithAny(text, config.emergency)) {
      li.appendChild(headedBox("emergency", "alert", null, "Urgent", text));
    } else if (startsWithAny(text, config.safety)) {
      li.appendChild(headedBox("safety", "note", "Safety advice", "⚠ Safety advice", text));
    } else {
      var bubble = document.createElement("div");
      bubble.className = "bubble";
      bubble.textContent = text;
      li.appendChild(bubble);
      if (buttons.length) bubble.appendChild(optionButtons(buttons));
    }
    log.appendChild(li);
    return li;
  }

  function render(entry) {
    return entry.from === "user" ? renderUser(entry.text) : renderBot(entry.text, entry.buttons);
  }

  function scrollDown(li) {
    if (li && li.scrollIntoView) li.scrollIntoView({ block: "nearest" });
  }

  function startTyping() {
    stopTyping();
    typingItem = item("from-bot typing");
    typingItem.setAttribute("aria-hidden", "true");
    typingItem.textContent = "Looking in the archive…";
    log.appendChild(typingItem);
    replyTimer = window.setTimeout(function () {
      stopTyping();
      showStatus("No reply yet. The server may be busy; please send your message again.");
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
    var buttons = data.buttons || data.quick_replies || [];
    buttons = buttons.map(function (b) { return { title: b.title, payload: b.payload }; });
    var entry = { from: "bot", text: data.text || "", buttons: buttons };
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
      showStatus("The chat could not start: the socket.io client is missing on the server.");
      return;
    }
    socket = window.io(window.location.origin, {
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

  function start() {
    history.forEach(render);
    if (log.lastChild) scrollDown(log.lastChild);
    connect();
  }

  fetch(BASE + "config.json", { cache: "no-cache" })
    .then(function (r) { return r.ok ? r.json() : {}; })
    .then(function (loaded) {
      Object.keys(loaded || {}).forEach(function (k) { config[k] = loaded[k]; });
      if (config.disclaimer) disclaimer.textContent = config.disclaimer;
    })
    .catch(function () { /* keep the built-in texts */ })
    .then(start);
})();
