/* Zhitang Assistant (支塘小助手) chat widget. Embed with one tag:
 *   <script src="https://GATEWAY/static/widget.js" data-gateway="https://GATEWAY" data-lang="auto" defer></script>
 * data-lang: "zh", "en" or "auto" (the browser's language). data-open="true" opens the panel on load.
 * Vanilla JS, no dependencies. Bot text is rendered with DOM APIs and textContent only:
 * the only markup is **bold**, line breaks and http(s) links. */
(function () {
  "use strict";
  if (window.ZhitangWidget) return; // embedded twice: keep the first

  var script = document.currentScript || document.querySelector('script[src*="widget.js"]');
  var scriptUrl = new URL(script.src, document.baseURI);
  var GATEWAY = ((script.dataset && script.dataset.gateway) || scriptUrl.origin).replace(/\/+$/, "");
  var VERSION = scriptUrl.searchParams.get("v") || "";
  var MAX_CHARS = 500;
  var MAX_HISTORY = 120;
  var TIMEOUT_MS = 30000;
  var KEY = "zhitang-assistant:";
  /* This browser keeps its copy of a conversation (masked text only) this long; the server's retention is
     ZHITANG_RETENTION_DAYS (GET /api/privacy; bot/web/gateway/forget.py BROWSER_DAYS is this number). */
  var HISTORY_DAYS = 30;
  var DAY_MS = 24 * 3600 * 1000;

  var TEXT = {
    zh: {
      title: "支塘小助手",
      subtitle: "支塘镇公共服务问答",
      launcher: "问问小助手",
      open: "打开支塘小助手",
      close: "关闭",
      placeholder: "请输入您的问题，例如：尊老金发了多少？",
      inputLabel: "您的问题",
      send: "发送",
      newChat: "新对话",
      newChatLabel: "开始新对话(清除本页的对话记录)",
      elder: "长辈模式",
      elderLabel: "长辈模式：大字体、高对比度",
      langButton: "English",
      langLabel: "Switch to English",
      privacy: "请勿输入身份证号、手机号、银行卡号等个人信息。",
      privacyMore: "隐私说明",
      privacyMoreLabel: "隐私说明：保存什么、保存多久、如何删除",
      privacyKept: "保存什么：您的提问和小助手的回答、您的评价，以及小助手答不上的问题(供工作人员改进服务)。",
      privacyMasked: "身份证号、手机号和银行卡号在保存前会被遮盖，例如 138****5678。",
      privacyDays: "保存多久：服务器上的记录{days}天后自动删除；本浏览器里的记录{local}天后清除。",
      privacyDaysUnknown: "保存多久：服务器上的记录到期自动删除；本浏览器里的记录{local}天后清除。",
      privacyDelete: "如何删除：点上方的“清除记录”，这次对话会立即从服务器和本浏览器删除。",
      forget: "清除记录",
      forgetLabel: "清除记录：从服务器和本浏览器删除这次对话",
      forgetAsk: "删除这次对话吗？服务器和本浏览器上的记录都会删除，无法恢复。",
      forgetYes: "删除",
      forgetNo: "取消",
      forgotten: "这次对话的记录已删除。",
      forgetFailed: "记录没有删除成功，请稍后再试。",
      log: "对话记录",
      you: "您说：",
      bot: "小助手说：",
      notice: "提示：",
      typing: "小助手正在输入…",
      suggestions: "建议问题",
      source: "查看出处",
      sourceStaff: "由镇工作人员提供的信息",
      sourceNote: "摘自",
      helpfulGroup: "这个回答有帮助吗？",
      up: "有帮助",
      down: "没帮助",
      thanks: "谢谢您的评价！",
      feedbackFailed: "评价没有保存，请稍后再试。",
      empty: "请输入您的问题。",
      unavailable: "抱歉，小助手暂时无法回答，请稍后再试，或到支塘镇便民服务中心咨询。",
      counter: "{n}/{max} 字",
    },
    en: {
      title: "Zhitang Assistant",
      subtitle: "Questions about Zhitang's public services",
      launcher: "Ask the assistant",
      open: "Open Zhitang Assistant",
      close: "Close",
      placeholder: "Type your question, e.g. How much elder allowance was paid?",
      inputLabel: "Your question",
      send: "Send",
      newChat: "New chat",
      newChatLabel: "Start a new conversation (clears this conversation)",
      elder: "Large text",
      elderLabel: "Elder mode: large text, high contrast",
      langButton: "中文",
      langLabel: "切换到中文",
      privacy: "Please do not enter personal details such as ID, phone or bank card numbers.",
      privacyMore: "Privacy",
      privacyMoreLabel: "Privacy notice: what is kept, for how long, how to delete it",
      privacyKept:
        "What is kept: your questions and the assistant's answers, your ratings, and the questions it could not answer (for staff to improve the service).",
      privacyMasked: "ID, mobile and bank card numbers are masked before anything is kept, e.g. 138****5678.",
      privacyDays: "For how long: deleted from the server automatically after {days} days; this browser's copy after {local} days.",
      privacyDaysUnknown:
        "For how long: deleted from the server automatically when the retention period ends; this browser's copy after {local} days.",
      privacyDelete: "How to delete: press “Delete chat” above: this conversation is deleted from the server and this browser at once.",
      forget: "Delete chat",
      forgetLabel: "Delete my conversation from the server and this browser",
      forgetAsk: "Delete this conversation? It is deleted from the server and from this browser, and cannot be restored.",
      forgetYes: "Delete",
      forgetNo: "Cancel",
      forgotten: "Your conversation has been deleted.",
      forgetFailed: "The conversation was not deleted. Please try again later.",
      log: "Conversation",
      you: "You said:",
      bot: "Assistant said:",
      notice: "Notice:",
      typing: "The assistant is typing…",
      suggestions: "Suggested questions",
      source: "Show the source",
      sourceStaff: "Provided by town staff",
      sourceNote: "From the",
      helpfulGroup: "Was this answer helpful?",
      up: "Helpful",
      down: "Not helpful",
      thanks: "Thank you for your feedback!",
      feedbackFailed: "Your rating was not saved. Please try again later.",
      empty: "Please type your question.",
      unavailable:
        "Sorry, the assistant is temporarily unavailable. Please try again later, or visit the Zhitang Town Public Service Centre.",
      counter: "{n}/{max} characters",
    },
  };

  /* ---------- storage (localStorage may be unavailable: private mode, blocked cookies) ---------- */
  function load(name, fallback) {
    try {
      var raw = window.localStorage.getItem(KEY + name);
      return raw === null ? fallback : JSON.parse(raw);
    } catch (e) {
      return fallback;
    }
  }
  function save(name, value) {
    try {
      window.localStorage.setItem(KEY + name, JSON.stringify(value));
    } catch (e) {
      /* the conversation still works, it is just not kept */
    }
  }
  function drop(name) {
    try {
      window.localStorage.removeItem(KEY + name);
    } catch (e) {
      /* nothing was kept */
    }
  }
  /* The gateway masks ID, bank-card and mobile numbers (bot/privacy.py) and sends its copy back. When
     it could not be reached, the widget masks any run of 11 or more digits itself before keeping the words. */
  function maskNumbers(text) {
    return String(text).replace(/\d(?:[ -]?[0-9Xx]){10,}/g, function (run) {
      var chars = run.replace(/[^0-9Xx]/g, "");
      return chars.slice(0, 3) + "*".repeat(chars.length - 7) + chars.slice(-4);
    });
  }
  /* The history this browser may still keep: messages younger than HISTORY_DAYS (older copies had no time:
     they count from now). */
  function freshHistory(items) {
    var now = Date.now();
    return items.filter(function (item) {
      if (!item || typeof item !== "object") return false;
      if (typeof item.at !== "number") item.at = now;
      return now - item.at < HISTORY_DAYS * DAY_MS;
    });
  }
  function newSessionId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map
      .call(bytes, function (b) {
        return ("0" + b.toString(16)).slice(-2);
      })
      .join("");
  }
  function browserLang() {
    var langs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || "zh"];
    for (var i = 0; i < langs.length; i++) {
      var primary = String(langs[i]).toLowerCase().split("-")[0];
      if (primary === "zh" || primary === "en") return primary;
    }
    return "zh";
  }
  function hasChinese(text) {
    return /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]/.test(text || "");
  }

  var configured = script.dataset && script.dataset.lang;
  var state = {
    lang: load("lang", null) || (configured === "zh" || configured === "en" ? configured : browserLang()),
    elder: load("elder", false) === true,
    session: load("session", null),
    history: load("history", []),
    busy: false,
    retentionDays: 0, // how long the server keeps conversations, once GET /api/privacy said it
  };
  if (typeof state.session !== "string" || !/^[A-Za-z0-9_-]{8,64}$/.test(state.session)) {
    state.session = newSessionId();
    save("session", state.session);
  }
  if (!Array.isArray(state.history)) state.history = [];
  var fresh = freshHistory(state.history);
  if (state.history.length && !fresh.length) {
    state.session = newSessionId(); // the whole conversation expired: the next one starts afresh
    save("session", state.session);
  }
  if (state.history.length) save("history", fresh);
  state.history = fresh;

  function t(key) {
    return TEXT[state.lang][key];
  }

  /* ---------- DOM helpers ---------- */
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }
  function button(className, text, onClick) {
    var b = el("button", className, text);
    b.type = "button";
    b.addEventListener("click", onClick);
    return b;
  }

  /* Bot text -> DOM: line breaks, **bold**, http(s) links; everything else is plain text. */
  var INLINE = /\*\*([^*\n]+)\*\*|(https?:\/\/[^\s<>"'“”‘’()()，。、;;]+)/g;
  function safeLink(raw) {
    var url;
    try {
      url = new URL(raw);
    } catch (e) {
      return null;
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") return null;
    var a = el("a", "zt-link", raw);
    a.href = url.href;
    a.target = "_blank";
    a.rel = "noopener noreferrer nofollow";
    return a;
  }
  function renderInline(parent, line) {
    var last = 0;
    var match;
    INLINE.lastIndex = 0;
    while ((match = INLINE.exec(line)) !== null) {
      if (match.index > last) parent.appendChild(document.createTextNode(line.slice(last, match.index)));
      if (match[1] !== undefined) {
        parent.appendChild(el("strong", null, match[1]));
      } else {
        parent.appendChild(safeLink(match[2]) || document.createTextNode(match[2]));
      }
      last = INLINE.lastIndex;
    }
    if (last < line.length) parent.appendChild(document.createTextNode(line.slice(last)));
  }
  function renderText(parent, text) {
    String(text || "")
      .split("\n")
      .forEach(function (line, i) {
        if (i) parent.appendChild(document.createElement("br"));
        renderInline(parent, line);
      });
  }

  /* ---------- the widget's DOM ---------- */
  var root = el("div", "zt-widget");
  root.id = "zhitang-assistant";
  var launcher = el("button", "zt-launcher");
  launcher.type = "button";
  launcher.setAttribute("aria-haspopup", "dialog");
  launcher.setAttribute("aria-expanded", "false");
  var launcherIcon = el("span", "zt-launcher-icon");
  launcherIcon.setAttribute("aria-hidden", "true");
  var launcherLabel = el("span", "zt-launcher-label");
  launcher.appendChild(launcherIcon);
  launcher.appendChild(launcherLabel);

  var panel = el("div", "zt-panel");
  panel.id = "zt-panel";
  panel.hidden = true;
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-modal", "false");
  panel.setAttribute("aria-labelledby", "zt-title");
  launcher.setAttribute("aria-controls", "zt-panel");

  var header = el("div", "zt-header");
  var brand = el("div", "zt-brand");
  var avatar = el("span", "zt-avatar", "支");
  avatar.setAttribute("aria-hidden", "true");
  var titles = el("div", "zt-titles");
  var title = el("h2", "zt-title");
  title.id = "zt-title";
  var subtitle = el("p", "zt-subtitle");
  titles.appendChild(title);
  titles.appendChild(subtitle);
  brand.appendChild(avatar);
  brand.appendChild(titles);
  var closeButton = button("zt-icon-button zt-close", "×", function () {
    setOpen(false);
  });
  header.appendChild(brand);
  header.appendChild(closeButton);

  var toolbar = el("div", "zt-toolbar");
  toolbar.setAttribute("role", "toolbar");
  var langButton = button("zt-tool zt-lang", "", function () {
    setLang(state.lang === "zh" ? "en" : "zh");
  });
  var elderButton = button("zt-tool zt-elder-toggle", "", function () {
    setElder(!state.elder);
  });
  var newButton = button("zt-tool zt-new", "", function () {
    newConversation();
  });
  var forgetButton = button("zt-tool zt-forget", "", function () {
    askToForget();
  });
  forgetButton.setAttribute("aria-controls", "zt-confirm");
  forgetButton.setAttribute("aria-expanded", "false");
  toolbar.appendChild(elderButton);
  toolbar.appendChild(langButton);
  toolbar.appendChild(newButton);
  toolbar.appendChild(forgetButton);

  /* "Delete this conversation?" under the toolbar: yes deletes it on the server, then here. */
  var confirmBox = el("div", "zt-confirm");
  confirmBox.id = "zt-confirm";
  confirmBox.hidden = true;
  confirmBox.setAttribute("role", "group");
  confirmBox.setAttribute("aria-labelledby", "zt-confirm-text");
  var confirmText = el("p", "zt-confirm-text");
  confirmText.id = "zt-confirm-text";
  var confirmYes = button("zt-confirm-yes", "", function () {
    forgetConversation();
  });
  var confirmNo = button("zt-confirm-no", "", function () {
    hideConfirm();
  });
  confirmBox.appendChild(confirmText);
  confirmBox.appendChild(confirmYes);
  confirmBox.appendChild(confirmNo);

  var privacy = el("p", "zt-privacy");
  privacy.id = "zt-privacy";
  var privacyText = el("span", "zt-privacy-text");
  privacyText.id = "zt-privacy-text";
  var privacyToggle = button("zt-privacy-toggle", "", function () {
    showPrivacy(privacyNotice.hidden);
  });
  privacyToggle.setAttribute("aria-expanded", "false");
  privacyToggle.setAttribute("aria-controls", "zt-privacy-notice");
  privacy.appendChild(privacyText);
  privacy.appendChild(document.createTextNode(" "));
  privacy.appendChild(privacyToggle);
  /* The privacy notice, folded: what is kept, for how long, masking, how to delete. */
  var privacyNotice = el("div", "zt-privacy-notice");
  privacyNotice.id = "zt-privacy-notice";
  privacyNotice.hidden = true;
  privacyNotice.setAttribute("role", "region");
  var privacyList = el("ul");
  privacyNotice.appendChild(privacyList);

  var log = el("div", "zt-log");
  log.setAttribute("role", "log");
  log.setAttribute("aria-live", "polite");
  log.setAttribute("aria-relevant", "additions");
  log.tabIndex = 0;

  var typing = el("div", "zt-typing");
  typing.setAttribute("role", "status");
  typing.hidden = true;
  var dots = el("span", "zt-dots");
  dots.setAttribute("aria-hidden", "true");
  dots.appendChild(el("span"));
  dots.appendChild(el("span"));
  dots.appendChild(el("span"));
  var typingText = el("span", "zt-typing-text");
  typing.appendChild(dots);
  typing.appendChild(typingText);

  var form = el("form", "zt-form");
  form.noValidate = true;
  var inputLabel = el("label", "zt-sr");
  inputLabel.htmlFor = "zt-input";
  var input = el("textarea", "zt-input");
  input.id = "zt-input";
  input.rows = 2;
  input.maxLength = MAX_CHARS;
  input.setAttribute("aria-describedby", "zt-privacy-text zt-counter");
  var counter = el("span", "zt-counter");
  counter.id = "zt-counter";
  var sendButton = el("button", "zt-send");
  sendButton.type = "submit";
  form.appendChild(inputLabel);
  form.appendChild(input);
  var formSide = el("div", "zt-form-side");
  formSide.appendChild(sendButton);
  formSide.appendChild(counter);
  form.appendChild(formSide);

  panel.appendChild(header);
  panel.appendChild(toolbar);
  panel.appendChild(confirmBox);
  panel.appendChild(privacy);
  panel.appendChild(privacyNotice);
  panel.appendChild(log);
  panel.appendChild(typing);
  panel.appendChild(form);
  root.appendChild(panel);
  root.appendChild(launcher);

  function applyLabels() {
    root.lang = state.lang === "zh" ? "zh-CN" : "en";
    launcherLabel.textContent = t("launcher");
    launcher.setAttribute("aria-label", t("open"));
    title.textContent = t("title");
    subtitle.textContent = t("subtitle");
    closeButton.setAttribute("aria-label", t("close"));
    closeButton.title = t("close");
    langButton.textContent = t("langButton");
    langButton.lang = state.lang === "zh" ? "en" : "zh-CN";
    langButton.setAttribute("aria-label", t("langLabel"));
    elderButton.textContent = t("elder");
    elderButton.setAttribute("aria-label", t("elderLabel"));
    elderButton.setAttribute("aria-pressed", state.elder ? "true" : "false");
    newButton.textContent = t("newChat");
    newButton.setAttribute("aria-label", t("newChatLabel"));
    forgetButton.textContent = t("forget");
    forgetButton.setAttribute("aria-label", t("forgetLabel"));
    confirmText.textContent = t("forgetAsk");
    confirmYes.textContent = t("forgetYes");
    confirmNo.textContent = t("forgetNo");
    privacyText.textContent = t("privacy");
    privacyToggle.textContent = t("privacyMore");
    privacyToggle.setAttribute("aria-label", t("privacyMoreLabel"));
    privacyNotice.setAttribute("aria-label", t("privacyMoreLabel"));
    renderPrivacy();
    log.setAttribute("aria-label", t("log"));
    toolbar.setAttribute("aria-label", t("title"));
    typingText.textContent = t("typing");
    inputLabel.textContent = t("inputLabel");
    input.placeholder = t("placeholder");
    sendButton.textContent = t("send");
    updateCounter();
  }
  function updateCounter() {
    counter.textContent = t("counter").replace("{n}", input.value.length).replace("{max}", MAX_CHARS);
  }

  /* ---------- messages ---------- */
  function scrollDown() {
    log.scrollTop = log.scrollHeight;
  }
  /* Show a new answer from its start (with the question above it), not its end: long answers read top-down. */
  function scrollToStart(row) {
    log.scrollTop = Math.min(Math.max(0, row.offsetTop - 8), log.scrollHeight);
  }

  function sourceBlock(source) {
    if (!source || (!source.sentence && !source.quote && source.type !== "staff")) return null;
    var details = el("details", "zt-source");
    var summary = el("summary", null, t("source"));
    details.appendChild(summary);
    var body = el("div", "zt-source-body");
    if (source.type === "staff") {
      body.appendChild(el("p", null, t("sourceStaff")));
    } else {
      var quote = el("blockquote", "zt-quote");
      quote.lang = "zh-CN";
      var sentence = source.sentence || source.quote;
      var at = source.quote ? sentence.indexOf(source.quote) : -1;
      if (at >= 0) {
        quote.appendChild(document.createTextNode("“" + sentence.slice(0, at)));
        quote.appendChild(el("mark", null, source.quote));
        quote.appendChild(document.createTextNode(sentence.slice(at + source.quote.length) + "”"));
      } else {
        quote.textContent = "“" + sentence + "”";
      }
      body.appendChild(quote);
      var report = source.report && (source.report[state.lang] || source.report.zh);
      if (report) body.appendChild(el("p", "zt-source-ref", "— " + t("sourceNote") + " " + report));
    }
    details.appendChild(body);
    return details;
  }

  function feedbackBlock(item) {
    var group = el("div", "zt-feedback");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", t("helpfulGroup"));
    var status = el("span", "zt-feedback-status");
    status.setAttribute("role", "status");
    var up = button("zt-rate zt-up", "👍", function () {
      rate(item, "up", up, down, status);
    });
    var down = button("zt-rate zt-down", "👎", function () {
      rate(item, "down", down, up, status);
    });
    up.setAttribute("aria-label", t("up"));
    up.title = t("up");
    down.setAttribute("aria-label", t("down"));
    down.title = t("down");
    [up, down].forEach(function (b) {
      b.setAttribute("aria-pressed", item.rating === (b === up ? "up" : "down") ? "true" : "false");
      if (item.rating) b.disabled = true;
    });
    if (item.rating) status.textContent = t("thanks");
    group.appendChild(up);
    group.appendChild(down);
    group.appendChild(status);
    return group;
  }

  function renderItem(item) {
    var row = el("div", "zt-msg zt-" + item.role);
    var bubble = el("div", "zt-bubble");
    bubble.lang = hasChinese(item.text) ? "zh-CN" : "en";
    var who = el("span", "zt-sr", t(item.role === "user" ? "you" : item.role === "bot" ? "bot" : "notice"));
    bubble.appendChild(who);
    var body = el("span", "zt-text");
    if (item.role === "bot") renderText(body, item.text);
    else body.textContent = item.text; // the resident's own words and notices: plain text only
    bubble.appendChild(body);
    row.appendChild(bubble);
    if (item.role === "bot") {
      var source = sourceBlock(item.source);
      if (source) row.appendChild(source);
      // The quote already opens under the answer: its "show the source" button would repeat it.
      var buttons = (item.buttons || []).filter(function (b) {
        return !(source && b.payload === "/show_source");
      });
      if (buttons.length) {
        var chips = el("div", "zt-chips");
        chips.setAttribute("role", "group");
        chips.setAttribute("aria-label", t("suggestions"));
        buttons.forEach(function (b) {
          chips.appendChild(
            button("zt-chip", b.title, function () {
              ask(b.payload, b.title);
            })
          );
        });
        row.appendChild(chips);
      }
      if (!item.greeting) row.appendChild(feedbackBlock(item));
    }
    log.appendChild(row);
    return { row: row, body: body };
  }

  function remember(item) {
    item.at = Date.now();
    state.history.push(item);
    if (state.history.length > MAX_HISTORY) state.history = state.history.slice(-MAX_HISTORY);
    save("history", state.history);
  }
  function notice(text) {
    renderItem({ role: "notice", text: text });
    scrollDown();
  }

  /* ---------- talking to the gateway ---------- */
  function post(path, body) {
    var controller = window.AbortController ? new AbortController() : null;
    var timer = controller
      ? setTimeout(function () {
          controller.abort();
        }, TIMEOUT_MS)
      : null;
    return fetch(GATEWAY + path, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
      signal: controller ? controller.signal : undefined,
      credentials: "omit",
    })
      .then(function (response) {
        return response
          .json()
          .catch(function () {
            return {};
          })
          .then(function (data) {
            return { status: response.status, data: data || {} };
          });
      })
      .catch(function () {
        return { status: 0, data: {} };
      })
      .then(function (result) {
        if (timer) clearTimeout(timer);
        return result;
      });
  }

  function setBusy(busy) {
    state.busy = busy;
    typing.hidden = !busy;
    sendButton.disabled = busy;
    panel.setAttribute("aria-busy", busy ? "true" : "false");
    if (busy) scrollDown();
  }

  /* Send a message. `shown` is what the resident sees (a button's title); `hidden` sends without a bubble. */
  function ask(text, shown, options) {
    options = options || {};
    if (state.busy) return Promise.resolve();
    if (!String(text).trim()) {
      notice(t("empty"));
      return Promise.resolve();
    }
    var mine = null;
    if (!options.hidden) {
      mine = renderItem({ role: "user", text: shown || text });
      scrollDown();
    }
    setBusy(true);
    return post("/api/chat", { session: state.session, text: text, lang: state.lang }).then(function (result) {
      setBusy(false);
      var data = result.data;
      if (result.status === 200 && Array.isArray(data.messages)) {
        var question = shown || data.question || text;
        var firstRow = null;
        if (mine) {
          mine.body.textContent = question; // the gateway's masked copy replaces any ID or phone number
          remember({ role: "user", text: question });
        }
        data.messages.forEach(function (m) {
          var item = {
            role: "bot",
            text: typeof m.text === "string" ? m.text : "",
            buttons: Array.isArray(m.buttons) ? m.buttons : [],
            source: m.source || null,
            kind: m.kind || null,
            entry: m.entry || null,
            question: options.hidden ? null : question,
            greeting: !!options.hidden,
          };
          var rendered = renderItem(item);
          if (!firstRow) firstRow = rendered.row;
          remember(item);
        });
        scrollDown();
        var start = mine ? mine.row : firstRow;
        if (start) scrollToStart(start);
        return;
      }
      var message = typeof data.message === "string" && data.message ? data.message : t("unavailable");
      if (result.status === 503 || result.status === 0) {
        if (mine) {
          var kept = shown || data.question || maskNumbers(text); // only masked words are kept
          mine.body.textContent = kept;
          remember({ role: "user", text: kept });
        }
      } else if (mine) {
        log.removeChild(mine.row); // refused: give the words back to edit
        if (!shown && !input.value) {
          input.value = text;
          updateCounter();
        }
      }
      notice(message);
    });
  }

  function rate(item, rating, chosen, other, status) {
    chosen.disabled = true;
    other.disabled = true;
    return post("/api/feedback", {
      session: state.session,
      rating: rating,
      question: item.question || null,
      answer: item.text ? item.text.slice(0, 4000) : null,
      entry: item.entry || null,
      lang: state.lang,
    }).then(function (result) {
      if (result.status === 201) {
        item.rating = rating;
        chosen.setAttribute("aria-pressed", "true");
        status.textContent = t("thanks");
        save("history", state.history);
      } else {
        chosen.disabled = false;
        other.disabled = false;
        status.textContent = (result.data && result.data.message) || t("feedbackFailed");
      }
    });
  }

  function greet() {
    // A payload, not a typed word: Rasa greets in the language sent with it as metadata (state.lang).
    return ask("/greet", null, { hidden: true });
  }

  function restore() {
    log.textContent = "";
    state.history.forEach(renderItem);
    scrollDown();
  }

  function newConversation() {
    state.session = newSessionId();
    save("session", state.session);
    state.history = [];
    save("history", state.history);
    log.textContent = "";
    input.value = "";
    updateCounter();
    greet();
    input.focus();
  }

  /* ---------- privacy: the notice, deleting the conversation ---------- */
  function renderPrivacy() {
    var local = state.retentionDays ? Math.min(HISTORY_DAYS, state.retentionDays) : HISTORY_DAYS;
    var days = state.retentionDays
      ? t("privacyDays").replace("{days}", state.retentionDays)
      : t("privacyDaysUnknown");
    privacyList.textContent = "";
    [t("privacyKept"), t("privacyMasked"), days.replace("{local}", local), t("privacyDelete")].forEach(function (line) {
      privacyList.appendChild(el("li", null, line));
    });
  }

  function showPrivacy(open) {
    privacyNotice.hidden = !open;
    privacyToggle.setAttribute("aria-expanded", open ? "true" : "false");
    if (open && !state.retentionDays) {
      // how long the server keeps conversations (ZHITANG_RETENTION_DAYS)
      fetch(GATEWAY + "/api/privacy", { credentials: "omit", headers: { Accept: "application/json" } })
        .then(function (response) {
          return response.ok ? response.json() : {};
        })
        .then(function (data) {
          if (data && typeof data.retention_days === "number" && data.retention_days > 0) {
            state.retentionDays = data.retention_days;
            renderPrivacy();
          }
        })
        .catch(function () {
          /* the notice says "when the retention period ends" */
        });
    }
  }

  function askToForget() {
    confirmBox.hidden = false;
    forgetButton.setAttribute("aria-expanded", "true");
    confirmNo.focus(); // the safe choice has the focus; the question is read with it (aria-labelledby)
  }

  function hideConfirm() {
    confirmBox.hidden = true;
    forgetButton.setAttribute("aria-expanded", "false");
    confirmYes.disabled = false;
    forgetButton.focus();
  }

  /* Delete this conversation on the server (tracker, feedback), then here; a new conversation starts. If the
     server could not delete it, everything stays as it was, so the resident can try again. */
  function forgetConversation() {
    if (state.busy) return Promise.resolve();
    state.busy = true;
    confirmYes.disabled = true;
    return post("/api/forget", { session: state.session, lang: state.lang }).then(function (result) {
      state.busy = false;
      var data = result.data || {};
      hideConfirm();
      if (result.status !== 200) {
        // refused (too fast, …): the gateway says why; the server or network down: "not deleted, try again"
        var refused = result.status >= 400 && result.status < 500 && typeof data.message === "string";
        notice(refused && data.message ? data.message : t("forgetFailed"));
        return;
      }
      drop("history");
      drop("session");
      state.history = [];
      state.session = newSessionId();
      save("session", state.session);
      log.textContent = "";
      input.value = "";
      updateCounter();
      notice(typeof data.message === "string" && data.message ? data.message : t("forgotten"));
      input.focus();
      return greet();
    });
  }

  function setLang(lang) {
    state.lang = lang;
    save("lang", lang);
    applyLabels();
    var spoke = state.history.some(function (item) {
      return item.role === "user";
    });
    if (!spoke) {
      state.history = []; // nothing asked yet: greet again in the new language
      save("history", state.history);
      log.textContent = "";
      greet();
    } else {
      restore(); // labels of past answers (source, 👍/👎) in the new language
    }
  }

  function setElder(on) {
    state.elder = on;
    save("elder", on);
    root.classList.toggle("zt-elder", on);
    elderButton.setAttribute("aria-pressed", on ? "true" : "false");
    scrollDown();
  }

  function setOpen(open) {
    panel.hidden = !open;
    root.classList.toggle("zt-open", open);
    launcher.setAttribute("aria-expanded", open ? "true" : "false");
    try {
      window.sessionStorage.setItem(KEY + "open", open ? "1" : "0");
    } catch (e) {
      /* not kept */
    }
    if (open) {
      if (!log.childNodes.length && !state.busy) greet();
      scrollDown();
      input.focus();
    } else {
      launcher.focus();
    }
  }

  /* ---------- events ---------- */
  launcher.addEventListener("click", function () {
    setOpen(panel.hidden);
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (state.busy) return;
    var text = input.value;
    if (!text.trim()) {
      notice(t("empty"));
      return;
    }
    input.value = "";
    updateCounter();
    ask(text);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault(); // Enter sends; Shift+Enter is a new line; Enter while composing Chinese picks a word
      if (typeof form.requestSubmit === "function") form.requestSubmit();
      else form.dispatchEvent(new Event("submit", { cancelable: true }));
    }
  });
  input.addEventListener("input", updateCounter);
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      event.preventDefault();
      if (!confirmBox.hidden) hideConfirm(); // Escape first cancels "delete this conversation?"
      else setOpen(false);
    }
  });

  /* ---------- start ---------- */
  function start() {
    if (!document.querySelector('link[data-zhitang-widget]')) {
      var css = document.createElement("link");
      css.rel = "stylesheet";
      css.href = GATEWAY + "/static/widget.css" + (VERSION ? "?v=" + encodeURIComponent(VERSION) : "");
      css.setAttribute("data-zhitang-widget", "");
      document.head.appendChild(css);
    }
    applyLabels();
    root.classList.toggle("zt-elder", state.elder);
    document.body.appendChild(root);
    restore();
    var wasOpen = false;
    try {
      wasOpen = window.sessionStorage.getItem(KEY + "open") === "1";
    } catch (e) {
      wasOpen = false;
    }
    if (wasOpen || (script.dataset && script.dataset.open === "true")) setOpen(true);
  }

  window.ZhitangWidget = {
    open: function () {
      setOpen(true);
    },
    close: function () {
      setOpen(false);
    },
    /* Open the panel and ask a question, e.g. from a link on the host page. */
    ask: function (text) {
      if (panel.hidden) setOpen(true);
      var pending = state.busy ? new Promise(function (resolve) {
        var wait = setInterval(function () {
          if (!state.busy) {
            clearInterval(wait);
            resolve();
          }
        }, 100);
      }) : Promise.resolve();
      return pending.then(function () {
        return ask(text);
      });
    },
    setElder: setElder,
    setLang: setLang,
    /* Delete this conversation on the server and in this browser (as the "Delete chat" button does). */
    forget: function () {
      return forgetConversation();
    },
  };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
