/* Zhitang Assistant (支塘小助手) chat widget. Embed with one tag:
 *   <script src="https://GATEWAY/static/widget.js" data-gateway="https://GATEWAY" data-lang="auto" defer></script>
 * data-lang: "zh", "en" or "auto" (the browser's language). data-open="true" opens the panel on load.
 * Vanilla JS (ES5 syntax), no dependencies. Bot text is rendered with DOM APIs and text nodes only: the only
 * markup is **bold**, line breaks, http(s) links and, in answers giving contacts staff entered, tel: links.
 * The page drives it through window.ZhitangWidget (open, close, ask, setElder, setLang, forget; README). */
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
      langShort: "EN",
      langLabel: "Switch to English",
      autoRead: "自动朗读",
      autoReadLabel: "自动朗读新的回答",
      readAloud: "朗读",
      readAloudLabel: "朗读这条回答",
      stopReading: "停止朗读",
      call: "拨打电话",
      privacy: "请勿输入身份证号、手机号、银行卡号等个人信息。",
      privacyHide: "收起",
      privacyHideLabel: "收起隐私提示",
      privacyShowLabel: "显示隐私提示",
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
      rateAsk: "您对这次服务满意吗？（可不评）",
      rateLevels: ["非常满意", "满意", "基本满意", "不满意", "非常不满意"],
      rateThanks: "谢谢您的评价！不满意的评价会由工作人员查看改进。",
      rateSkip: "不评价",
      rateSkipLabel: "不评价，关闭",
      empty: "请输入您的问题。",
      unavailable: "抱歉，小助手暂时无法回答，请稍后再试，或到支塘镇便民服务中心咨询。",
      counter: "{n}/{max} 字",
      staff: "镇工作人员",
      staffSaid: "镇工作人员说：",
      queued: "正在为您转接镇工作人员：您排在第{n}位，预计等待约{m}分钟。",
      queuedAtMost: "正在为您转接镇工作人员：您排在第{n}位，预计等待不超过{m}分钟。",
      active: "镇工作人员已接入，请直接输入您的问题。",
      cancelQueue: "取消转人工",
      endChat: "结束人工服务",
      handoverClosed: "镇工作人员已结束本次对话，小助手会继续为您解答。",
      handoverExpired: "暂时没有工作人员接入。您可以留言，工作人员上班后会处理。",
      leaveTitle: "给镇工作人员留言",
      leaveText: "留言内容",
      leavePhone: "回电号码（可不填）",
      leaveConsent: "我同意镇工作人员用这个号码给我回电",
      leaveSend: "提交留言",
      leaveNeedConsent: "留电话需要先勾选同意回电。",
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
      langShort: "中",
      langLabel: "切换到中文",
      autoRead: "Auto-read",
      autoReadLabel: "Read new answers aloud automatically",
      readAloud: "Read aloud",
      readAloudLabel: "Read this answer aloud",
      stopReading: "Stop reading",
      call: "Call",
      privacy: "Please do not enter personal details such as ID, phone or bank card numbers.",
      privacyHide: "Hide",
      privacyHideLabel: "Hide the privacy reminder",
      privacyShowLabel: "Show the privacy reminder",
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
      rateAsk: "How satisfied are you with this service? (optional)",
      rateLevels: ["Very satisfied", "Satisfied", "Fairly satisfied", "Dissatisfied", "Very dissatisfied"],
      rateThanks: "Thank you! Town staff look into every rating below “fairly satisfied”.",
      rateSkip: "No thanks",
      rateSkipLabel: "No thanks, close",
      empty: "Please type your question.",
      unavailable:
        "Sorry, the assistant is temporarily unavailable. Please try again later, or visit the Zhitang Town Public Service Centre.",
      counter: "{n}/{max} characters",
      staff: "Town staff",
      staffSaid: "Town staff said:",
      queued: "Putting you through to town staff: you are number {n} in the queue; the expected wait is about {m} {minutes}.",
      queuedAtMost: "Putting you through to town staff: you are number {n} in the queue; the wait is at most {m} {minutes}.",
      active: "A member of town staff has joined. Please type your question.",
      cancelQueue: "Leave the queue",
      endChat: "End the chat with staff",
      handoverClosed: "Town staff have ended this conversation; the assistant answers again.",
      handoverExpired: "Nobody from town staff could take your conversation just now. You can leave a message; staff will deal with it when they are back.",
      leaveTitle: "Leave a message for town staff",
      leaveText: "Your message",
      leavePhone: "Phone number for a call back (optional)",
      leaveConsent: "I agree that town staff call me back on this number",
      leaveSend: "Send the message",
      leaveNeedConsent: "To leave a number, please tick that you agree to a call back.",
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
  /* The language a text is mostly in: Chinese characters against English words ("How much is 尊老金?" is English). */
  function textLang(text) {
    var cjk = (String(text || "").match(/[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]/g) || []).length;
    var words = (String(text || "").match(/[A-Za-z]+/g) || []).length;
    if (!cjk && !words) return state.lang;
    return cjk > words ? "zh" : "en";
  }

  var configured = script.dataset && script.dataset.lang;
  var state = {
    lang: load("lang", null) || (configured === "zh" || configured === "en" ? configured : browserLang()),
    elder: load("elder", false) === true,
    autoRead: load("autoread", false) === true, // elder mode reads new answers aloud
    privacyFolded: load("privacy-folded", false) === true, // the resident folded the privacy reminder away
    session: load("session", null),
    history: load("history", []),
    busy: false,
    retentionDays: 0, // how long the server keeps conversations, once GET /api/privacy said it
    // The live handover (转人工) of this conversation: {session, state, after: the last event seen}; see handover().
    handover: load("handover", null),
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

  /* Reading aloud uses the browser's speechSynthesis (voices on the device first; no cloud speech recognition):
     where it is missing (some Android WebViews), the 朗读 buttons and the auto-read switch are not shown. */
  var speech =
    window.speechSynthesis && typeof window.SpeechSynthesisUtterance === "function" ? window.speechSynthesis : null;
  var reading = null; // the 朗读 button of the answer being read

  /* ---------- DOM helpers ---------- */
  /* el("p", "zt-x", "text") or el("div", {className: "zt-x", id: "zt-y", role: "log", "aria-live": "polite"},
     [child, "text", …]): properties where the element has one (className, id, hidden, type, tabIndex …), attributes
     otherwise (role, aria-*, data-*); strings become text nodes, never markup. */
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    var set = typeof attrs === "string" ? { className: attrs } : attrs || {};
    Object.keys(set).forEach(function (name) {
      if (name.indexOf("-") < 0 && name !== "role" && name in node) node[name] = set[name];
      else node.setAttribute(name, set[name]);
    });
    (Array.isArray(children) ? children : [children]).forEach(function (child) {
      if (child === null || child === undefined || child === "") return;
      node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
    });
    return node;
  }
  function button(attrs, children, onClick) {
    var b = el("button", attrs, children);
    b.type = "button";
    b.addEventListener("click", onClick);
    return b;
  }
  /* A toolbar button: an icon (CSS) and a label that phones hide, keeping it for screen readers (aria-label). */
  function tool(name, onClick, attrs) {
    var set = attrs || {};
    set.className = "zt-tool zt-" + name;
    return button(set, el("span", "zt-tool-label"), onClick);
  }
  function labelTool(b, text, label) {
    b.firstChild.textContent = text;
    b.setAttribute("aria-label", label);
    b.title = label;
  }

  /* Bot text -> DOM: line breaks, **bold**, http(s) links; everything else is plain text. In answers that give
     phone numbers staff entered (TEL_KINDS), those numbers become tel: links. */
  var INLINE = /\*\*([^*\n]+)\*\*|(https?:\/\/[^\s<>"'“”‘’()()，。、;;]+)/g;
  // landline with its area code, mobile, 400/800 numbers, a local number, a 5-digit service line (12345)
  var PHONE = new RegExp(
    "((?:\\+?86[\\s-]?)?(?:0\\d{2,3}[\\s-]?\\d{7,8}|1[3-9]\\d[\\s-]?\\d{4}[\\s-]?\\d{4}|" +
      "[48]00[\\s-]?\\d{3}[\\s-]?\\d{4}|\\d{7,8}|[19]\\d{4}))"
  );
  var INLINE_TEL = new RegExp(INLINE.source + "|" + PHONE.source, "g");
  var TEL_KINDS = ["handoff", "handover", "field", "field_unknown"]; // actions/handoff.py, actions/answering.py
  function safeLink(raw) {
    var url;
    try {
      url = new URL(raw);
    } catch (e) {
      return null;
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") return null;
    var attrs = { className: "zt-link", href: url.href, target: "_blank", rel: "noopener noreferrer nofollow" };
    return el("a", attrs, raw);
  }
  function telLink(number) {
    var href = "tel:" + number.replace(/[^\d+]/g, "");
    return el("a", { className: "zt-link zt-tel", href: href, "aria-label": t("call") + " " + number }, number);
  }
  function renderInline(parent, line, tel) {
    var pattern = tel ? INLINE_TEL : INLINE;
    var last = 0;
    var match;
    pattern.lastIndex = 0;
    while ((match = pattern.exec(line)) !== null) {
      if (match[3] !== undefined) {
        // a phone number stands alone: not a piece of a longer number, a date or an amount
        var end = match.index + match[3].length;
        if (/[\d.\-:]/.test(line.charAt(match.index - 1)) || /[\d.:]/.test(line.charAt(end))) {
          pattern.lastIndex = match.index + 1;
          continue;
        }
      }
      if (match.index > last) parent.appendChild(document.createTextNode(line.slice(last, match.index)));
      if (match[1] !== undefined) parent.appendChild(el("strong", null, match[1]));
      else if (match[2] !== undefined) parent.appendChild(safeLink(match[2]) || document.createTextNode(match[2]));
      else parent.appendChild(telLink(match[3]));
      last = pattern.lastIndex;
    }
    if (last < line.length) parent.appendChild(document.createTextNode(line.slice(last)));
  }
  function renderText(parent, text, tel) {
    String(text || "")
      .split("\n")
      .forEach(function (line, i) {
        if (i) parent.appendChild(document.createElement("br"));
        renderInline(parent, line, tel);
      });
  }

  /* ---------- the widget's DOM ---------- */
  var launcherLabel = el("span", "zt-launcher-label");
  var launcher = el(
    "button",
    {
      className: "zt-launcher",
      type: "button",
      "aria-haspopup": "dialog",
      "aria-expanded": "false",
      "aria-controls": "zt-panel",
    },
    [el("span", { className: "zt-launcher-icon", "aria-hidden": "true" }), launcherLabel]
  );

  var title = el("h2", { className: "zt-title", id: "zt-title" });
  var subtitle = el("p", "zt-subtitle");
  var privacyShow = button(
    {
      className: "zt-icon-button zt-privacy-show",
      hidden: true,
      "aria-controls": "zt-privacy",
      "aria-expanded": "false",
    },
    null,
    function () {
      foldPrivacy(false, true);
    }
  );
  var closeButton = button("zt-icon-button zt-close", "×", function () {
    setOpen(false);
  });
  var header = el("div", "zt-header", [
    el("div", "zt-brand", [
      el("span", { className: "zt-avatar", "aria-hidden": "true" }, "支"),
      el("div", "zt-titles", [title, subtitle]),
    ]),
    privacyShow,
    closeButton,
  ]);

  var elderButton = tool("elder-toggle", function () {
    setElder(!state.elder);
  });
  var langButton = tool("lang", function () {
    setLang(state.lang === "zh" ? "en" : "zh");
  });
  var autoReadButton = tool("autoread", function () {
    setAutoRead(!state.autoRead);
  });
  var newButton = tool("new", function () {
    newConversation();
  });
  var forgetButton = tool(
    "forget",
    function () {
      askToForget();
    },
    { "aria-controls": "zt-confirm", "aria-expanded": "false" }
  );
  var toolbar = el("div", { className: "zt-toolbar", role: "toolbar" }, [
    elderButton,
    langButton,
    autoReadButton,
    newButton,
    forgetButton,
  ]);

  /* "Delete this conversation?" under the toolbar: yes deletes it on the server, then here. */
  var confirmText = el("p", { className: "zt-confirm-text", id: "zt-confirm-text" });
  var confirmYes = button("zt-confirm-yes", "", function () {
    forgetConversation();
  });
  var confirmNo = button("zt-confirm-no", "", function () {
    hideConfirm();
  });
  var confirmBox = el(
    "div",
    { className: "zt-confirm", id: "zt-confirm", hidden: true, role: "group", "aria-labelledby": "zt-confirm-text" },
    [confirmText, confirmYes, confirmNo]
  );

  /* The privacy reminder (foldable, the choice is kept), and its notice: what is kept, for how long, masking,
     how to delete. Folded, the input still names it for screen readers (aria-describedby). */
  var privacyText = el("span", { className: "zt-privacy-text", id: "zt-privacy-text" });
  var privacyToggle = button(
    { className: "zt-privacy-toggle", "aria-expanded": "false", "aria-controls": "zt-privacy-notice" },
    null,
    function () {
      showPrivacy(privacyNotice.hidden);
    }
  );
  var privacyHide = button({ className: "zt-privacy-hide", "aria-controls": "zt-privacy" }, null, function () {
    foldPrivacy(true, true);
  });
  var privacy = el("div", { className: "zt-privacy", id: "zt-privacy" }, [
    privacyText,
    el("span", "zt-privacy-actions", [privacyToggle, privacyHide]),
  ]);
  var privacyList = el("ul");
  var privacyNotice = el(
    "div",
    { className: "zt-privacy-notice", id: "zt-privacy-notice", hidden: true, role: "region", tabIndex: 0 },
    [privacyList]
  );

  var log = el("div", {
    className: "zt-log",
    role: "log",
    "aria-live": "polite",
    "aria-relevant": "additions",
    tabIndex: 0,
  });

  /* The live handover's status (place in the queue, expected wait; staff have joined) and the way out of it. */
  var handoverText = el("span", "zt-handover-text");
  var handoverCancel = button("zt-handover-cancel", "", function () {
    cancelHandover();
  });
  var handoverBar = el("div", { className: "zt-handover", role: "status", hidden: true }, [handoverText, handoverCancel]);

  var typingText = el("span", "zt-typing-text");
  var typing = el("div", { className: "zt-typing", role: "status", hidden: true }, [
    el("span", { className: "zt-dots", "aria-hidden": "true" }, [el("span"), el("span"), el("span")]),
    typingText,
  ]);

  var inputLabel = el("label", { className: "zt-sr", htmlFor: "zt-input" });
  var input = el("textarea", {
    className: "zt-input",
    id: "zt-input",
    rows: 1, // grows with its text (fitInput)
    maxLength: MAX_CHARS,
    "aria-describedby": "zt-privacy-text zt-counter",
  });
  var counter = el("span", { className: "zt-counter", id: "zt-counter" });
  var sendButton = el("button", { className: "zt-send", type: "submit" });
  var form = el("form", { className: "zt-form", noValidate: true }, [inputLabel, input, sendButton, counter]);

  var panel = el(
    "div",
    {
      className: "zt-panel",
      id: "zt-panel",
      hidden: true,
      role: "dialog",
      "aria-modal": "false",
      "aria-labelledby": "zt-title",
    },
    [header, toolbar, confirmBox, privacy, privacyNotice, log, handoverBar, typing, form]
  );
  /* After the panel is closed: the 5-level rating of the conversation that ended (offerRating). */
  var rateCard = el("div", { className: "zt-rate-card", hidden: true });
  var root = el("div", { className: "zt-widget", id: "zhitang-assistant" }, [panel, rateCard, launcher]);

  function applyLabels() {
    root.lang = state.lang === "zh" ? "zh-CN" : "en";
    launcherLabel.textContent = t("launcher");
    launcher.setAttribute("aria-label", t("open"));
    title.textContent = t("title");
    subtitle.textContent = t("subtitle");
    closeButton.setAttribute("aria-label", t("close"));
    closeButton.title = t("close");
    labelTool(langButton, t("langButton"), t("langLabel"));
    langButton.lang = state.lang === "zh" ? "en" : "zh-CN";
    langButton.setAttribute("data-short", t("langShort"));
    labelTool(elderButton, t("elder"), t("elderLabel"));
    elderButton.setAttribute("aria-pressed", state.elder ? "true" : "false");
    labelTool(autoReadButton, t("autoRead"), t("autoReadLabel"));
    autoReadButton.setAttribute("aria-pressed", state.autoRead ? "true" : "false");
    autoReadButton.hidden = !speech || !state.elder; // an elder-mode switch, where the browser can speak
    labelTool(newButton, t("newChat"), t("newChatLabel"));
    labelTool(forgetButton, t("forget"), t("forgetLabel"));
    confirmText.textContent = t("forgetAsk");
    confirmYes.textContent = t("forgetYes");
    confirmNo.textContent = t("forgetNo");
    privacyText.textContent = t("privacy");
    privacyToggle.textContent = t("privacyMore");
    privacyToggle.setAttribute("aria-label", t("privacyMoreLabel"));
    privacyHide.textContent = t("privacyHide");
    privacyHide.setAttribute("aria-label", t("privacyHideLabel"));
    privacyShow.setAttribute("aria-label", t("privacyShowLabel"));
    privacyShow.title = t("privacyShowLabel");
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
  /* The counter shows once the resident types; the input grows with its text (and shows its whole
     placeholder), up to the height the stylesheet allows. */
  function updateCounter() {
    counter.textContent = t("counter").replace("{n}", input.value.length).replace("{max}", MAX_CHARS);
    counter.hidden = !input.value.length;
    fitInput();
  }
  function fitInput() {
    if (panel.hidden) return; // nothing to measure
    input.style.height = "auto";
    var empty = !input.value;
    if (empty) input.value = input.placeholder;
    var height = input.scrollHeight + input.offsetHeight - input.clientHeight;
    if (empty) input.value = "";
    input.style.height = height + "px";
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
    var status = el("span", { className: "zt-feedback-status", role: "status" });
    var up = button({ className: "zt-rate zt-up", "aria-label": t("up"), title: t("up") }, "👍", function () {
      rate(item, "up", up, down, status);
    });
    var down = button({ className: "zt-rate zt-down", "aria-label": t("down"), title: t("down") }, "👎", function () {
      rate(item, "down", down, up, status);
    });
    [up, down].forEach(function (b) {
      b.setAttribute("aria-pressed", item.rating === (b === up ? "up" : "down") ? "true" : "false");
      if (item.rating) b.disabled = true;
    });
    if (item.rating) status.textContent = t("thanks");
    return el("div", { className: "zt-feedback", role: "group", "aria-label": t("helpfulGroup") }, [up, down, status]);
  }

  /* 朗读 / Read aloud under each answer, where the browser can speak (speechSynthesis). */
  function readButton(item) {
    if (!speech || !item.text) return null;
    var label = el("span", "zt-read-label", t("readAloud"));
    var b = button({ className: "zt-read", "aria-label": t("readAloudLabel") }, label, function () {
      if (reading === b) stopReading();
      else read(item.text, b);
    });
    return b;
  }

  function renderItem(item) {
    var staff = item.role === "staff"; // a reply from town staff: shown as the bot's are, marked, without 👍/👎
    var row = el("div", "zt-msg zt-" + item.role + (staff ? " zt-bot" : "") + (item.tone ? " zt-" + item.tone : ""));
    var body = el("span", "zt-text");
    if (item.role === "bot" || staff) renderText(body, item.text, staff || TEL_KINDS.indexOf(item.kind) >= 0);
    else body.textContent = item.text; // the resident's own words and notices: plain text only
    var whoKey = item.role === "user" ? "you" : item.role === "bot" ? "bot" : staff ? "staffSaid" : "notice";
    var who = el("span", "zt-sr", t(whoKey));
    var lang = textLang(item.text) === "zh" ? "zh-CN" : "en";
    var from = staff ? el("span", { className: "zt-from", "aria-hidden": "true" }, t("staff")) : null;
    row.appendChild(el("div", { className: "zt-bubble", lang: lang }, [who, from, body]));
    var readAloud = null;
    if (staff) {
      readAloud = readButton(item);
      if (readAloud) row.appendChild(el("div", "zt-answer-tools", [readAloud]));
    } else if (item.role === "bot") {
      var source = sourceBlock(item.source);
      if (source) row.appendChild(source);
      readAloud = readButton(item);
      var tools = [readAloud, item.greeting ? null : feedbackBlock(item)];
      if (readAloud || !item.greeting) row.appendChild(el("div", "zt-answer-tools", tools));
      // The quote already opens under the answer: its "show the source" button would repeat it.
      var buttons = (item.buttons || []).filter(function (b) {
        return !(source && b.payload === "/show_source");
      });
      if (buttons.length) {
        row.appendChild(
          el(
            "div",
            { className: "zt-chips", role: "group", "aria-label": t("suggestions") },
            buttons.map(function (b) {
              return button("zt-chip", b.title, function () {
                ask(b.payload, b.title);
              });
            })
          )
        );
      }
    }
    log.appendChild(row);
    return { row: row, body: body, read: readAloud };
  }

  function remember(item) {
    item.at = Date.now();
    state.history.push(item);
    if (state.history.length > MAX_HISTORY) state.history = state.history.slice(-MAX_HISTORY);
    save("history", state.history);
  }
  /* A notice: a refusal or an outage; with tone "info", news of the handover (staff joined, ended). */
  function notice(text, tone) {
    renderItem({ role: "notice", text: text, tone: tone });
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

  /* Ask: show the question, send it, show the reply. `shown` is what the resident sees (a button's title);
     `hidden` sends without a bubble (the greeting). */
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
    return sendMessage(text).then(function (result) {
      setBusy(false);
      var answered = result.status === 200 && Array.isArray(result.data.messages);
      if (answered) showAnswers(result.data, text, shown, mine, options);
      else showRefusal(result, text, shown, mine);
    });
  }

  /* Sending: one message to the gateway; resolves to {status, data} (status 0: not reached). */
  function sendMessage(text) {
    return post("/api/chat", { session: state.session, text: text, lang: state.lang });
  }

  /* Rendering the bot's answers: the masked question replaces the typed one, each answer is shown and kept,
     the view starts at the question, and elder mode's auto-read reads the answers. */
  function showAnswers(data, text, shown, mine, options) {
    var question = shown || data.question || text;
    if (mine) {
      mine.body.textContent = question; // the gateway's masked copy replaces any ID or phone number
      remember({ role: "user", text: question });
    }
    var rendered = data.messages.map(function (m) {
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
      remember(item);
      return { item: item, view: renderItem(item) };
    });
    var handoff = data.messages.some(function (m) {
      return m.kind === "handoff";
    });
    if (handoff && !options.hidden) offerRating("handoff");
    if (data.handover) handoverStatus(data.handover);
    scrollDown();
    var top = mine ? mine.row : rendered.length ? rendered[0].view.row : null;
    if (top) scrollToStart(top);
    if (!options.hidden && state.elder && state.autoRead && speech && rendered.length && rendered[0].view.read) {
      var said = rendered.map(function (r) {
        return r.item.text;
      });
      read(said.join("\n"), rendered[0].view.read);
    }
  }

  /* Rendering a refusal or an outage: the gateway's message as a notice. When the gateway or Rasa was down the
     question stays (masked); when it was refused (too long, too fast) the words go back into the input. */
  function showRefusal(result, text, shown, mine) {
    var data = result.data;
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
  }

  /* ---------- reading aloud (speechSynthesis: the browser's own voices, nothing leaves the device) ---------- */
  var VOICE_TAGS = { zh: ["zh-cn", "zh-hans-cn", "zh-hans", "cmn-cn", "zh-sg", "zh-tw"], en: ["en-us", "en-gb", "en"] };

  /* A zh-CN (or else Mandarin) voice for Chinese, an English one for English; voices on the device first. */
  function pickVoice(lang) {
    var best = null;
    var bestScore = -1;
    (speech.getVoices() || []).forEach(function (voice) {
      var tag = String(voice.lang || "")
        .toLowerCase()
        .replace(/_/g, "-");
      var rank = -1;
      VOICE_TAGS[lang].forEach(function (wanted, i) {
        if (rank < 0 && (tag === wanted || (lang === "en" && tag.indexOf("en-") === 0))) rank = i;
      });
      if (rank < 0) return;
      var score = (voice.localService ? 100 : 0) - rank;
      if (score > bestScore) {
        best = voice;
        bestScore = score;
      }
    });
    return best;
  }
  function markReading(b, on) {
    b.classList.toggle("zt-reading", on);
    b.firstChild.textContent = t(on ? "stopReading" : "readAloud");
    b.setAttribute("aria-label", t(on ? "stopReading" : "readAloudLabel"));
  }
  function stopReading() {
    if (!speech) return;
    if (reading) markReading(reading, false);
    reading = null;
    speech.cancel();
  }
  /* Read a text aloud; any reading under way stops first (one at a time). */
  function read(text, b) {
    stopReading();
    var lang = textLang(text);
    var utterance = new window.SpeechSynthesisUtterance(String(text).replace(/\*\*/g, ""));
    utterance.lang = lang === "zh" ? "zh-CN" : "en-US";
    var voice = pickVoice(lang);
    if (voice) utterance.voice = voice;
    utterance.rate = state.elder ? 0.9 : 1;
    utterance.onend = utterance.onerror = function () {
      if (reading === b) {
        markReading(b, false);
        reading = null;
      }
    };
    reading = b;
    markReading(b, true);
    speech.speak(utterance);
  }
  function setAutoRead(on) {
    state.autoRead = !!on;
    save("autoread", state.autoRead);
    autoReadButton.setAttribute("aria-pressed", state.autoRead ? "true" : "false");
    if (!state.autoRead) stopReading();
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

  /* The government-service rating of the whole conversation (政务服务“好差评”: 非常满意 … 非常不满意): optional, one
     tap, offered once a conversation ends (the panel is closed) or after a handover (a reply of kind "handoff"),
     once per conversation. Stored by POST /api/feedback; staff follow up the two lowest (bot/web/admin). */
  var LEVELS = ["very_satisfied", "satisfied", "basic", "dissatisfied", "very_dissatisfied"];
  function ratedThisConversation() {
    return load("rated", null) === state.session;
  }
  function ratingBlock(occasion, onSkip) {
    var status = el("p", { className: "zt-rating-status", role: "status" });
    var levels = LEVELS.map(function (level, i) {
      var attrs = { className: "zt-rate zt-level zt-level-" + (i + 1), "aria-pressed": "false" };
      var choice = button(attrs, t("rateLevels")[i], function () {
        rateConversation(level, occasion, choice, levels, status);
      });
      return choice;
    });
    var children = [el("p", "zt-rating-ask", t("rateAsk")), el("div", "zt-rating-levels", levels), status];
    if (onSkip) {
      children.push(button({ className: "zt-rating-skip", "aria-label": t("rateSkipLabel") }, t("rateSkip"), onSkip));
    }
    return el("div", { className: "zt-rating", role: "group", "aria-label": t("rateAsk") }, children);
  }
  function rateConversation(level, occasion, chosen, levels, status) {
    levels.forEach(function (b) {
      b.disabled = true;
    });
    var body = { session: state.session, satisfaction: level, occasion: occasion, lang: state.lang };
    return post("/api/feedback", body).then(function (result) {
      if (result.status === 201) {
        save("rated", state.session);
        chosen.setAttribute("aria-pressed", "true");
        status.textContent = t("rateThanks");
      } else {
        levels.forEach(function (b) {
          b.disabled = false;
        });
        status.textContent = (result.data && result.data.message) || t("feedbackFailed");
      }
    });
  }
  /* Offer the rating: after a handover, under the reply; at the end of a conversation, beside the launcher. */
  function offerRating(occasion) {
    if (ratedThisConversation()) return;
    if (occasion === "handoff") {
      log.appendChild(el("div", "zt-msg zt-rating-row", [ratingBlock("handoff")]));
      return;
    }
    rateCard.textContent = "";
    rateCard.appendChild(
      ratingBlock("end", function () {
        rateCard.hidden = true;
        launcher.focus();
      })
    );
    rateCard.hidden = false;
    save("rate-offered", state.session);
  }

  /* ---------- the live handover to town staff (转人工; bot/web/gateway/handover.py) ----------
     The gateway queues the conversation when the bot says a person can take it (data.handover); from then on
     the resident's messages go to staff, and staff's replies and every change of state arrive as server-sent
     events (EventSource reconnects by itself with Last-Event-ID; after a reload the stream resumes from the last
     event kept here). Staff replies are shown as the bot's, marked "town staff", never with a name. */
  var stream = null;
  function keepHandover(changes) {
    var h = state.handover && state.handover.session === state.session ? state.handover : { session: state.session };
    Object.keys(changes).forEach(function (key) {
      h[key] = changes[key];
    });
    state.handover = h;
    save("handover", h);
  }
  function handoverOpen() {
    return !!(state.handover && state.handover.session === state.session &&
      (state.handover.state === "waiting" || state.handover.state === "active"));
  }
  function showHandoverBar(status) {
    if (status.state === "waiting") {
      var line = status.wait_measured ? t("queued") : t("queuedAtMost");
      handoverText.textContent = line
        .replace("{n}", status.position)
        .replace("{m}", status.wait_minutes)
        .replace("{minutes}", status.wait_minutes === 1 ? "minute" : "minutes");
      handoverCancel.textContent = t("cancelQueue");
    } else {
      handoverText.textContent = t("active");
      handoverCancel.textContent = t("endChat");
    }
    handoverBar.hidden = false;
  }
  /* A new status from the gateway (a reply, the stream, a cancel): what the resident sees changes only when the
     state does (or the place in the queue). */
  function handoverStatus(status) {
    if (!status || typeof status.state !== "string") return;
    var before = state.handover && state.handover.session === state.session ? state.handover.state : null;
    if (status.state === "message") {
      leaveForm();
      return;
    }
    if (status.state === "waiting" || status.state === "active") {
      keepHandover({ state: status.state });
      showHandoverBar(status);
      if (!stream) listen();
      if (status.state === "active" && before !== "active") notice(t("active"), "info");
      return;
    }
    stopListening();
    handoverBar.hidden = true;
    if (before !== "waiting" && before !== "active") return; // nothing was open here: nothing to say
    keepHandover({ state: status.state });
    if (status.state === "closed") {
      notice(t("handoverClosed"), "info");
      offerRating("handoff");
    } else if (status.state === "expired") {
      notice(t("handoverExpired"), "info");
      leaveForm();
    }
  }
  function staffSays(event) {
    var item = { role: "staff", text: event.text };
    remember(item);
    var view = renderItem(item);
    scrollDown();
    if (state.elder && state.autoRead && speech && view.read) read(item.text, view.read);
  }
  function listen() {
    if (!window.EventSource) return;
    var after = (state.handover && state.handover.after) || 0;
    var url = GATEWAY + "/api/handover/events?session=" + encodeURIComponent(state.session) + "&after=" + after;
    var source = new window.EventSource(url);
    stream = source;
    source.addEventListener("handover", function (message) {
      var event = JSON.parse(message.data);
      if (event.id <= ((state.handover && state.handover.after) || 0)) return; // seen before a reload
      keepHandover({ after: event.id });
      if (event.kind === "staff") staffSays(event);
    });
    source.addEventListener("status", function (message) {
      handoverStatus(JSON.parse(message.data));
    });
    source.onerror = function () {
      // The browser reconnects by itself; when the server ended the stream, start a new one from the cursor.
      if (source.readyState === 2 && stream === source) {
        stream = null;
        if (handoverOpen()) setTimeout(function () {
          if (!stream && handoverOpen()) listen();
        }, 2000);
      }
    };
  }
  function stopListening() {
    if (stream) stream.close();
    stream = null;
  }
  function cancelHandover() {
    handoverCancel.disabled = true;
    return post("/api/handover/cancel", { session: state.session, lang: state.lang }).then(function (result) {
      handoverCancel.disabled = false;
      if (result.status !== 200) {
        notice((result.data && result.data.message) || t("unavailable"));
        return;
      }
      stopListening();
      handoverBar.hidden = true;
      keepHandover({ state: result.data.state });
      notice(result.data.message, "info");
    });
  }
  /* 留言: a message for staff, with a callback number only if the resident ticks that they agree to a call. */
  function leaveForm() {
    if (log.querySelector(".zt-leave")) return;
    var text = el("textarea", { className: "zt-leave-text", id: "zt-leave-text", rows: 3, maxLength: 2000 });
    var phone = el("input", { className: "zt-leave-phone", id: "zt-leave-phone", type: "tel", maxLength: 20 });
    var consent = el("input", { className: "zt-leave-consent", id: "zt-leave-consent", type: "checkbox" });
    var status = el("p", { className: "zt-leave-status", role: "status" });
    var send = button("zt-leave-send", t("leaveSend"), function () {
      if (phone.value.trim() && !consent.checked) {
        status.textContent = t("leaveNeedConsent");
        consent.focus();
        return;
      }
      send.disabled = true;
      var body = { session: state.session, lang: state.lang, text: text.value, consent: consent.checked };
      if (phone.value.trim()) body.phone = phone.value.trim();
      post("/api/handover/message", body).then(function (result) {
        send.disabled = false;
        status.textContent = (result.data && result.data.message) || t("unavailable");
        if (result.status === 201) {
          log.removeChild(box);
          notice(result.data.message, "info");
        }
      });
    });
    var box = el("div", { className: "zt-msg zt-leave", role: "group", "aria-labelledby": "zt-leave-title" }, [
      el("p", { className: "zt-leave-title", id: "zt-leave-title" }, t("leaveTitle")),
      el("label", { htmlFor: "zt-leave-text" }, t("leaveText")),
      text,
      el("label", { htmlFor: "zt-leave-phone" }, t("leavePhone")),
      phone,
      el("label", { className: "zt-leave-agree" }, [consent, " " + t("leaveConsent")]),
      send,
      status,
    ]);
    log.appendChild(box);
    scrollDown();
  }

  function greet() {
    // A payload, not a typed word: Rasa greets in the language sent with it as metadata (state.lang).
    return ask("/greet", null, { hidden: true });
  }

  function restore() {
    stopReading(); // its button is about to be drawn again
    log.textContent = "";
    state.history.forEach(renderItem);
    scrollDown();
  }

  function newConversation() {
    stopReading();
    stopListening();
    handoverBar.hidden = true;
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

  /* Fold the privacy reminder away (a lock button in the header brings it back), or show it; remembered. */
  function foldPrivacy(folded, byResident) {
    state.privacyFolded = folded;
    privacy.hidden = folded;
    if (folded) showPrivacy(false);
    privacyShow.hidden = !folded;
    privacyShow.setAttribute("aria-expanded", folded ? "false" : "true");
    if (!byResident) return;
    save("privacy-folded", folded);
    (folded ? privacyShow : privacyHide).focus();
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
      stopReading();
      stopListening();
      handoverBar.hidden = true;
      ["history", "session", "rated", "rate-offered", "handover"].forEach(drop); // nothing of the old conversation stays
      state.handover = null;
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
    lang = String(lang || "")
      .toLowerCase()
      .split("-")[0];
    if (!TEXT[lang]) return; // "zh" or "en" (also "zh-CN", "en-US")
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
    on = !!on;
    state.elder = on;
    save("elder", on);
    root.classList.toggle("zt-elder", on);
    elderButton.setAttribute("aria-pressed", on ? "true" : "false");
    autoReadButton.hidden = !speech || !on;
    fitInput();
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
      rateCard.hidden = true;
      if (!log.childNodes.length && !state.busy) greet();
      fitInput();
      scrollDown();
      input.focus();
    } else {
      stopReading();
      launcher.focus();
      // The conversation ends here: offer its rating once, if the resident asked anything and has not rated it.
      var spoke = state.history.some(function (item) {
        return item.role === "user";
      });
      if (spoke && load("rate-offered", null) !== state.session) offerRating("end");
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
  window.addEventListener("resize", fitInput);
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
      css.addEventListener("load", fitInput); // the input's height depends on the stylesheet
      document.head.appendChild(css);
    }
    applyLabels();
    root.classList.toggle("zt-elder", state.elder);
    foldPrivacy(state.privacyFolded, false);
    document.body.appendChild(root);
    restore();
    if (handoverOpen()) listen(); // a reload while waiting for or talking with staff: the stream resumes
    var wasOpen = false;
    try {
      wasOpen = window.sessionStorage.getItem(KEY + "open") === "1";
    } catch (e) {
      wasOpen = false;
    }
    if (wasOpen || (script.dataset && script.dataset.open === "true")) setOpen(true);
  }

  /* The embedding API (a contract: documented in README, tested in tests/e2e/test_widget_features.py); the widget's
     root element is #zhitang-assistant. */
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
