"""Bot texts written by the actions, in Chinese and English (fixed replies live in domain.yml)."""

from __future__ import annotations

from kb.shape import STAFF_FIELDS

FIELD_NAMES = {f.name: dict(f.label) for f in STAFF_FIELDS}  # how replies name a staff field

TEXTS: dict[str, dict[str, str]] = {
    "also": {"zh": "另外：{facts}", "en": "Also: {facts}"},
    "in_year": {"zh": "{year}年：{text}", "en": "In {year}: {text}"},
    "the_report": {"zh": "镇政府工作报告", "en": "the town's government work report"},
    "staff_value": {
        "zh": "{title}的{field}：{value}（由镇工作人员提供，{date}更新）",
        "en": "{field} for {title}: {value} (provided by town staff, updated {date})",
    },
    "staff_fact": {"zh": "（由镇工作人员提供，{date}）", "en": "(provided by town staff, {date})"},
    "field_unknown": {
        "zh": "知识库里还没有{title}的{field}。《{report}》没有写这方面的信息，我不能替您编造。"
        "请到支塘镇便民服务中心咨询工作人员。",
        "en": "The knowledge base does not have the {field} for {title} yet. The {report} does "
        "not give it, and I will not make it up. Please ask the staff at the Zhitang Town Public "
        "Service Centre.",
    },
    "centre_contact": {"zh": "便民服务中心{field}：{value}", "en": "Service centre {field}: {value}"},
    "what_i_know": {"zh": "我知道的是：{fact}", "en": "What I do know: {fact}"},
    "source_line": {"zh": "来源：{report}", "en": "Source: {report}"},
    "source_quote": {
        "zh": "出处（{report}）：\n“{sentence}”",
        "en": "Source ({report}, original Chinese text):\n“{sentence}”",
    },
    "source_staff": {
        "zh": "这条信息由镇工作人员{who}于{date}提供，不是来自工作报告。",
        "en": "This was provided by town staff ({who}) on {date}; it is not from the work report.",
    },
    "no_topic_yet": {
        "zh": "请先问我一个具体的服务，比如“尊老金发了多少？”",
        "en": "Please ask me about a service first, for example “How much elder allowance was paid?”",
    },
    "did_you_mean": {
        "zh": "我不太确定您想问哪一项，您是想问：",
        "en": "I'm not sure which service you mean. Did you mean:",
    },
    "sentence_hit": {
        "zh": "没有找到对应的服务条目，工作报告中最相关的一句是：\n“{sentence}”",
        "en": "I found no matching service entry. The closest passage of the work report (in Chinese) is:\n“{sentence}”",
    },
    "dont_know": {
        "zh": "抱歉，这个问题我答不上来，知识库和《{report}》里都没有相关内容。"
        "您可以到支塘镇便民服务中心咨询工作人员，也可以换个说法问我，比如尊老金、医保报销、法律顾问等。",
        "en": "Sorry, I can't answer that: neither the knowledge base nor the {report} covers it. "
        "You can ask the staff at the Zhitang Town Public Service Centre, or ask me in other words, "
        "e.g. about the elder allowance, medical-insurance reimbursement or legal advisers.",
    },
    "out_of_scope": {
        "zh": "这个我帮不上忙。我只能回答支塘镇公共服务方面的问题，比如尊老金、医保、法律顾问、便民服务中心等。",
        "en": "I can't help with that. I answer questions about Zhitang's public services, such as the "
        "elder allowance, medical insurance, legal advisers and the Public Service Centre.",
    },
    "handoff": {
        "zh": "需要人工帮助的话，请到支塘镇便民服务中心窗口找工作人员；事情在别处办不成的，可以去“畅通办”窗口。",
        "en": "For help from a person, please go to a window of the Zhitang Town Public Service Centre; "
        "if a matter could not be handled elsewhere, ask at the Changtong (smooth handling) window.",
    },
    "handoff_no_contact": {
        "zh": "知识库里暂时没有服务中心的电话、地址和办公时间，我不能编造。",
        "en": "The knowledge base does not have the centre's phone number, address or hours yet, and I will not make them up.",
    },
    "kb_unavailable": {
        "zh": "抱歉，知识库暂时无法访问，请稍后再试，或到支塘镇便民服务中心咨询。",
        "en": "Sorry, the knowledge base is temporarily unavailable. Please try again later or ask at the "
        "Zhitang Town Public Service Centre.",
    },
}

BUTTONS = {
    "source": {"zh": "查看原文出处", "en": "Show the source"},
    "human": {"zh": "转人工/服务中心", "en": "Talk to a person"},
    "how_to_apply": {"zh": "怎么办理？", "en": "How do I apply?"},
}


def t(key: str, lang: str, **values: str) -> str:
    """A bot text in the language, with its placeholders filled."""
    return TEXTS[key][lang].format(**values)
