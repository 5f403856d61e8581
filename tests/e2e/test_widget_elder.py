"""Elder mode against the MIIT ageing-friendly numbers (适老化通用设计规范), measured in headless Debian Chromium
after one real answer, on a desktop (1366×768) and on a 360×740 phone, through the widget's public API.

Every visible text node and control of the widget is measured with getComputedStyle and getBoundingClientRect:
text at least 24 px (18 pt) with line spacing at least 1.3, WCAG contrast at least 4.5:1 against the background
actually behind it (found by walking up the ancestors and compositing their backgrounds and opacity), touch
targets at least 60×60, the close button in the panel's top-right corner, and nothing hidden from screen readers
that a sighted resident can use. The phone layout: a one-row toolbar, at least 45% of the height for the
conversation, an input that grows; 200% zoom without sideways scrolling."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

expect.set_options(timeout=30_000)  # the first answers wait for Rasa's model; nothing here asserts a duration

MIN_TEXT_PX = 24  # 18 pt
MIN_LINE_HEIGHT = 1.3
MIN_CONTRAST = 4.5
MIN_TARGET_PX = 60
MIN_CONVERSATION_SHARE = 0.45

# Measures the widget as a resident sees it: a list of findings and the numbers behind them.
MEASURE = r"""() => {
  const root = document.getElementById("zhitang-assistant");
  const parse = (text) => {
    const m = text.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const p = m[1].split(/[\s,/]+/).filter(Boolean).map(Number);
    return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1};
  };
  const over = (top, bottom) => {  // top composited over an opaque bottom
    const a = top.a;
    return {r: top.r * a + bottom.r * (1 - a), g: top.g * a + bottom.g * (1 - a),
            b: top.b * a + bottom.b * (1 - a), a: 1};
  };
  const luminance = (c) => {
    const ch = [c.r, c.g, c.b].map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2];
  };
  const contrast = (a, b) => {
    const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
  };
  const chain = (el) => { const out = []; for (let e = el; e; e = e.parentElement) out.push(e); return out; };
  // The opaque colour behind an element: its own and its ancestors' backgrounds, outermost first, over white.
  // A background image (other than none) cannot be measured: it is reported.
  const background = (el, problems, what) => {
    let bg = {r: 255, g: 255, b: 255, a: 1};
    for (const e of chain(el).reverse()) {
      const s = getComputedStyle(e);
      if (s.backgroundImage && s.backgroundImage !== "none" && e.textContent.trim() && e !== el.ownerDocument.body)
        problems.push(`${what}: background image behind text on ${describe(e)}`);
      const c = parse(s.backgroundColor);
      if (c && c.a > 0) bg = over(c, bg);
    }
    return bg;
  };
  // Opacity of the element and its ancestors, and the backdrop outside the outermost translucent one.
  const opacity = (el) => {
    let product = 1, outer = null;
    for (const e of chain(el)) {
      const o = parseFloat(getComputedStyle(e).opacity);
      if (o < 1) { product *= o; outer = e; }
    }
    return {product, outer};
  };
  const describe = (e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") +
    (e.className && typeof e.className === "string" ? "." + e.className.trim().split(/\s+/).join(".") : "");
  // Hidden from sight but kept for screen readers (the .zt-sr pattern): not measured as visible text.
  const srOnly = (el) => chain(el).some((e) => {
    const s = getComputedStyle(e);
    const r = e.getBoundingClientRect();
    return (s.clip && s.clip.startsWith("rect(0")) || (s.overflow === "hidden" && r.width <= 1 && r.height <= 1);
  });
  const shown = (el) => el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true}) && !srOnly(el) &&
    el.getBoundingClientRect().width > 1;
  const EMOJI = /^[\p{Extended_Pictographic}\uFE0F\u200D\s]+$/u;

  const problems = [];
  const texts = [];
  const measureText = (el, sample, color) => {
    const s = getComputedStyle(el);
    const size = parseFloat(s.fontSize);
    const line = s.lineHeight === "normal" ? 1.2 * size : parseFloat(s.lineHeight);
    const what = `"${sample.slice(0, 24)}" (${describe(el)})`;
    let ratio = null;
    if (!EMOJI.test(sample)) {
      let fg = parse(color || s.color);
      let bg = background(el, problems, what);
      const op = opacity(el);
      if (op.product < 1) {
        const white = {r: 255, g: 255, b: 255, a: 1};
        const under = op.outer.parentElement ? background(op.outer.parentElement, [], what) : white;
        fg = over({...over(fg, bg), a: op.product}, under);
        bg = over({...bg, a: op.product}, under);
      } else {
        fg = over(fg, bg);
      }
      ratio = contrast(fg, bg);
    }
    texts.push({what, size, line: line / size, contrast: ratio});
  };
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.trim();
    if (!text || !shown(node.parentElement)) continue;
    measureText(node.parentElement, text);
  }
  for (const field of root.querySelectorAll("textarea, input")) {
    if (shown(field) && !field.value && field.placeholder)
      measureText(field, "placeholder: " + field.placeholder, getComputedStyle(field, "::placeholder").color);
  }

  const targets = [];
  const panel = root.querySelector(".zt-panel");
  for (const el of root.querySelectorAll("button, a[href], summary, textarea, input, select, [role=button]")) {
    if (!shown(el)) continue;
    const r = el.getBoundingClientRect();
    // a link inside a sentence (http links in an answer) is exempt, as in WCAG 2.5.5; tel: links are not
    const inline = el.matches("a.zt-link:not([href^='tel:'])");
    targets.push({what: describe(el) + (el.textContent.trim() ? ` "${el.textContent.trim().slice(0, 16)}"` : ""),
                  width: r.width, height: r.height, inline});
    const name = (el.getAttribute("aria-label") || el.textContent || "").trim() ||
      (el.id && root.querySelector(`label[for="${el.id}"]`)?.textContent.trim()) || el.title;
    if (!name) problems.push(`${describe(el)} has no accessible name`);
    if (el.closest("[aria-hidden=true]") || el.closest("[inert]"))
      problems.push(`${describe(el)} is hidden from screen readers`);
  }
  for (const hidden of root.querySelectorAll("[aria-hidden=true]")) {
    if (hidden.querySelector("button, a[href], textarea, input, [tabindex]"))
      problems.push(`${describe(hidden)} hides controls`);
    if (hidden.textContent.trim().length > 2)
      problems.push(`${describe(hidden)} hides text: ${hidden.textContent.trim().slice(0, 20)}`);
  }
  if (root.closest("[aria-hidden=true], [inert]")) problems.push("the widget is hidden from screen readers");

  const close = root.querySelector(".zt-close").getBoundingClientRect();
  const box = panel.getBoundingClientRect();
  const log = root.querySelector(".zt-log").getBoundingClientRect();
  const tools = [...root.querySelectorAll(".zt-toolbar button")].filter(shown)
    .map((b) => b.getBoundingClientRect().top);
  return {
    problems, texts, targets,
    close: {right: box.right - close.right, top: close.top - box.top, width: close.width, height: close.height},
    panel: {left: box.left, top: box.top, right: box.right, bottom: box.bottom, width: box.width, height: box.height},
    conversationShare: log.height / window.innerHeight,
    toolbarRows: new Set(tools.map((t) => Math.round(t / 10))).size,
    scrollWidth: document.scrollingElement.scrollWidth, clientWidth: document.scrollingElement.clientWidth,
  };
}"""


def elder_answer(page: Page) -> None:
    """Through the public API: elder mode on, open, ask; then open the answer's source and the privacy notice."""
    page.wait_for_function("() => window.ZhitangWidget && document.getElementById('zhitang-assistant')")
    page.evaluate("() => { window.ZhitangWidget.setElder(true); window.ZhitangWidget.open(); }")
    expect(page.locator(".zt-bot .zt-chip").first).to_be_visible(timeout=60_000)
    page.evaluate("() => window.ZhitangWidget.ask('尊老金发了多少?')")
    expect(page.locator(".zt-bot")).to_have_count(2)
    expect(page.locator(".zt-typing")).to_be_hidden()
    expect(page.locator(".zt-bot .zt-text").last).to_contain_text("1428.35万元")
    page.locator(".zt-bot").last.locator(".zt-source summary").click()
    page.locator(".zt-privacy-toggle").click()
    expect(page.locator(".zt-privacy-notice")).to_be_visible()


def measure(page: Page) -> dict:
    return page.evaluate(MEASURE)


def failures(result: dict) -> list[str]:
    """Every number below the spec, one line each (empty: elder mode meets it)."""
    out = list(result["problems"])
    for text in result["texts"]:
        if text["size"] < MIN_TEXT_PX:
            out.append(f"text {text['what']}: {text['size']:.1f}px < {MIN_TEXT_PX}px")
        if text["line"] < MIN_LINE_HEIGHT - 1e-6:
            out.append(f"text {text['what']}: line spacing {text['line']:.2f} < {MIN_LINE_HEIGHT}")
        if text["contrast"] is not None and text["contrast"] < MIN_CONTRAST:
            out.append(f"text {text['what']}: contrast {text['contrast']:.2f} < {MIN_CONTRAST}")
    for target in result["targets"]:
        if not target["inline"] and min(target["width"], target["height"]) < MIN_TARGET_PX - 0.5:
            out.append(f"target {target['what']}: {target['width']:.0f}×{target['height']:.0f} < {MIN_TARGET_PX}")
    close = result["close"]
    if close["right"] > 24 or close["top"] > 24:
        out.append(f"close button not in the top-right corner: {close}")
    return out


def summary(result: dict) -> str:
    """The smallest numbers measured (shown with -s, and in a failure)."""
    texts = result["texts"]
    contrasts = [t["contrast"] for t in texts if t["contrast"] is not None]
    targets = [min(t["width"], t["height"]) for t in result["targets"] if not t["inline"]]
    return (
        f"{len(texts)} texts, {len(result['targets'])} targets: min font {min(t['size'] for t in texts):.1f}px, "
        f"min line spacing {min(t['line'] for t in texts):.2f}, min contrast {min(contrasts):.2f}, "
        f"min target {min(targets):.0f}px, close {result['close']['width']:.0f}×{result['close']['height']:.0f}, "
        f"conversation {result['conversationShare']:.0%} of the height, toolbar rows {result['toolbarRows']}"
    )


@pytest.mark.parametrize("width, height", [(1366, 768), (360, 740)], ids=["desktop", "phone"])
def test_elder_mode_meets_the_miit_numbers(open_page, width, height):
    page = open_page(locale="zh-CN", width=width, height=height)
    elder_answer(page)
    result = measure(page)
    print(f"{width}×{height}: {summary(result)}")
    assert len(result["texts"]) > 20 and len(result["targets"]) > 8, summary(result)
    assert not failures(result), "\n".join([summary(result), *failures(result)])
    # "delete this conversation?" with its buttons, and the typing indicator (shown as while waiting)
    page.locator(".zt-forget").click()
    expect(page.locator(".zt-confirm")).to_be_visible()
    page.evaluate("() => { document.querySelector('.zt-typing').hidden = false; }")
    result = measure(page)
    assert any("zt-confirm-yes" in t["what"] for t in result["targets"]), summary(result)
    assert any("zt-typing" in t["what"] for t in result["texts"]), summary(result)
    assert not failures(result), "\n".join([summary(result), *failures(result)])
    page.evaluate("() => { document.querySelector('.zt-typing').hidden = true; }")
    page.keyboard.press("Escape")
    expect(page.locator(".zt-confirm")).to_be_hidden()
    # the same in English (other words, other widths)
    page.evaluate("() => window.ZhitangWidget.setLang('en')")
    expect(page.locator(".zt-send")).to_have_text("Send")
    result = measure(page)
    print(f"{width}×{height} en: {summary(result)}")
    assert not failures(result), "\n".join([summary(result), *failures(result)])
    # closed: the launcher
    page.evaluate("() => window.ZhitangWidget.close()")
    launcher = page.locator(".zt-launcher").evaluate(
        "(el) => { const r = el.getBoundingClientRect(); const label = getComputedStyle(el.lastChild);"
        " return {width: r.width, height: r.height, size: parseFloat(label.fontSize),"
        " line: parseFloat(label.lineHeight) / parseFloat(label.fontSize)}; }"
    )
    assert min(launcher["width"], launcher["height"]) >= MIN_TARGET_PX and launcher["size"] >= MIN_TEXT_PX, launcher
    assert launcher["line"] >= MIN_LINE_HEIGHT, launcher
    assert page.errors == []


def test_phone_layout_leaves_the_conversation_room(open_page):
    """360×740, elder mode: one toolbar row, at least 45% of the height for the conversation, input that grows."""
    page = open_page(locale="zh-CN", width=360, height=740)
    elder_answer(page)
    page.locator(".zt-privacy-toggle").click()  # fold the privacy notice again
    result = measure(page)
    print(f"360×740 elder: {summary(result)}")
    assert result["toolbarRows"] == 1
    assert result["conversationShare"] >= MIN_CONVERSATION_SHARE, summary(result)
    assert result["scrollWidth"] <= result["clientWidth"]
    assert result["panel"]["left"] >= 0 and result["panel"]["right"] <= 360

    # the privacy banner folds away, and stays folded after a reload
    page.locator(".zt-privacy-hide").click()
    expect(page.locator(".zt-privacy")).to_be_hidden()
    folded = measure(page)
    assert folded["conversationShare"] > result["conversationShare"]
    page.reload()
    expect(page.locator(".zt-panel")).to_be_visible()
    expect(page.locator(".zt-privacy")).to_be_hidden()
    page.locator(".zt-privacy-show").click()
    expect(page.locator(".zt-privacy")).to_be_visible()
    expect(page.locator(".zt-privacy")).to_contain_text("身份证号")

    # the input shows its whole placeholder, grows with its text; Shift+Enter is a new line, Enter sends
    field = page.locator("#zt-input")
    empty = field.bounding_box()["height"]
    whole = (
        "(el) => { el.value = el.placeholder; const fits = el.scrollHeight <= el.clientHeight + 1;"
        " el.value = ''; return fits; }"
    )
    assert field.evaluate(whole), "the placeholder is cut off"
    field.fill("尊老金")
    for _ in range(3):
        field.press("Shift+Enter")
        field.type("发了多少")
    assert field.input_value().count("\n") == 3
    grown = field.bounding_box()["height"]
    assert grown > empty * 1.5, (empty, grown)
    assert measure(page)["conversationShare"] > 0.3  # it grows within limits
    before = page.locator(".zt-user").count()
    field.press("Enter")
    expect(page.locator(".zt-user")).to_have_count(before + 1)
    expect(page.locator(".zt-typing")).to_be_hidden()
    assert field.bounding_box()["height"] <= empty + 1  # back to one line once sent


def test_desktop_panel_leaves_the_pages_own_switch_uncovered(open_page):
    """At 1366×768 the elder-mode panel does not cover the page's 标准模式 switch, which still works."""
    page = open_page(locale="zh-CN", width=1366, height=768)
    page.locator("#elder-link").click()  # the page's switch turns elder mode on, for the widget too
    expect(page.locator("#elder-link")).to_have_text("标准模式")
    page.evaluate("() => window.ZhitangWidget.open()")
    expect(page.locator(".zt-bot .zt-chip").first).to_be_visible(timeout=60_000)
    link = page.locator("#elder-link").bounding_box()
    panel = page.locator(".zt-panel").bounding_box()
    overlap_x = link["x"] < panel["x"] + panel["width"] and panel["x"] < link["x"] + link["width"]
    overlap_y = link["y"] < panel["y"] + panel["height"] and panel["y"] < link["y"] + link["height"]
    assert not (overlap_x and overlap_y), (link, panel)
    page.locator("#elder-link").click()  # clickable: nothing lies on it
    expect(page.locator("#elder-link")).to_have_text("长辈模式")
    expect(page.locator(".zt-widget")).not_to_have_class("zt-widget zt-elder zt-open")


def test_200_percent_zoom_needs_no_sideways_scrolling(browser, gateway):
    """A 1366×768 screen at 200% zoom is a 683×384 CSS viewport at 2 device pixels per pixel."""
    context = browser.new_context(
        locale="zh-CN", viewport={"width": 683, "height": 384}, device_scale_factor=2, reduced_motion="reduce"
    )
    try:
        page = context.new_page()
        page.goto(gateway)
        for elder in (False, True):
            page.evaluate("(on) => { window.ZhitangWidget.setElder(on); window.ZhitangWidget.open(); }", elder)
            expect(page.locator(".zt-bot .zt-chip").first).to_be_visible(timeout=60_000)
            sizes = page.evaluate(
                "() => ({scroll: document.scrollingElement.scrollWidth, client: document.scrollingElement.clientWidth,"
                " panel: document.querySelector('.zt-panel').getBoundingClientRect().right,"
                " log: document.querySelector('.zt-log').getBoundingClientRect().height})"
            )
            print(f"683×384 @2x elder={elder}: {sizes}")
            assert sizes["scroll"] <= sizes["client"], sizes
            assert sizes["panel"] <= 683 and sizes["log"] > 60, sizes
            page.evaluate("() => window.ZhitangWidget.close()")
    finally:
        context.close()


def test_text_size_adjust_follows_the_residents_font_setting(open_page):
    """WeChat's in-app browser enlarges text through text-size-adjust: the widget never turns it off."""
    page = open_page(locale="zh-CN", width=360, height=740)
    page.wait_for_function("() => document.querySelector('link[data-zhitang-widget]')?.sheet")
    declared = page.evaluate("""() => {
          const sheet = document.querySelector('link[data-zhitang-widget]').sheet;
          const found = [];
          for (const rule of sheet.cssRules) {
            if (!rule.style) continue;
            for (const name of ['-webkit-text-size-adjust', 'text-size-adjust']) {
              const value = rule.style.getPropertyValue(name);
              if (value) found.push([rule.selectorText, name, value]);
            }
          }
          return found;
        }""")
    assert any(selector == ".zt-widget" for selector, _, _ in declared), declared
    assert all(value not in ("none", "0%") for _, _, value in declared), declared
