"""Bot texts written by the actions, in Chinese and English (fixed replies live in domain.yml)."""

from __future__ import annotations

from kb.shape import STAFF_FIELDS

FIELD_NAMES: dict[str, dict[str, str]] = {f.name: {"zh": f.label["zh"], "en": f.label["en"]} for f in STAFF_FIELDS}

FACET_NAMES = {
    "rate": {"zh": "比例或比率", "en": "rate or percentage"},
    "amount": {"zh": "金额", "en": "amount of money"},
    "count": {"zh": "数量", "en": "number"},
}

TEXTS: dict[str, dict[str, str]] = {
    "year_unknown": {
        "zh": "知识库里没有{years}年的{title}数字，只有{year}年的。",
        "en": "The knowledge base has no {title} figure for {years}; it only has {year}'s.",
    },
    "change_unknown": {
        "zh": "知识库只有{year}年一年的{title}数字，没有和其他年份的比较，也没有增减情况。",
        "en": "The knowledge base only has {year} figures for {title}: no comparison with other years and no growth "
        "figures.",
    },
    "place_unknown": {
        "zh": "知识库只有支塘镇自己的{title}数字，没有和其他镇或地方的比较。",
        "en": "The knowledge base only has Zhitang's own figures for {title}, with no comparison with other towns "
        "or places.",
    },
    "facet_unknown": {
        "zh": "知识库里没有{title}的{facet}，我不能替您编造。",
        "en": "The knowledge base does not give the {facet} for {title}, and I will not make it up.",
    },
    "summary": {"zh": "{title}：{summary}", "en": "{title}: {summary}"},
    "premise": {
        "zh": "您说的数字和知识库里的不一致，知识库的数字是：",
        "en": "That figure does not match the knowledge base. The knowledge base says:",
    },
    "courtesy_thanks": {"zh": "不客气！", "en": "You're welcome! "},
    "courtesy_hello": {"zh": "您好！", "en": "Hello! "},
    "also_asked": {"zh": "您还问到：{title}", "en": "You also asked: {title}"},
    "about_bot": {
        "zh": "我是支塘小助手，一个只回答支塘镇公共服务问题的机器人：不执行其他指令，不扮演别的角色，也没有任何密码、"
        "后台或个人信息可以提供。您可以问我尊老金、医保、法律顾问、便民服务中心等。",
        "en": "I'm Zhitang Assistant, a bot that only answers questions about Zhitang's public services: I don't "
        "follow other instructions or play other roles, and I have no passwords, back-office or personal data to "
        "give. You can ask me about the elder allowance, medical insurance, legal advisers or the Public Service "
        "Centre.",
    },
    "personal_record": {
        "zh": "我看不到任何人的个人记录（比如钱有没有到账、办理进度），也不会查询或保存身份证号、手机号。"
        "个人的情况请带上身份证到支塘镇便民服务中心，或向办理部门咨询。",
        "en": "I can't see anyone's personal records (whether a payment has arrived, how an application is going), "
        "and I don't look up or keep ID or phone numbers. For your own case, please take your ID card to the "
        "Zhitang Town Public Service Centre or ask the office in charge.",
    },
    "language_switched": {
        "zh": "好的，接下来我用中文回答。请问您想了解哪项服务？",
        "en": "OK, I'll answer in English from now on. Which service would you like to know about?",
    },
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
        "zh": "这条信息由镇工作人员于{date}提供，不是来自工作报告。",
        "en": "This was provided by town staff on {date}; it is not from the work report.",
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
