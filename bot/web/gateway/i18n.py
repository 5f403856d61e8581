"""The gateway's own messages (errors, rate limit, unavailable) in Chinese and English."""

from __future__ import annotations

from bot.language import LANGS

MESSAGES: dict[str, dict[str, str]] = {
    "empty": {"zh": "请输入您的问题。", "en": "Please type your question."},
    "too_long": {
        "zh": "问题太长了，请控制在{limit}个字以内。",
        "en": "Your question is too long. Please keep it under {limit} characters.",
    },
    "bad_json": {
        "zh": "请求格式有误，请刷新页面后再试。",
        "en": "The request was not understood. Please reload the page and try again.",
    },
    "bad_session": {
        "zh": "会话编号无效，请点击“新对话”后再试。",
        "en": "The conversation id is not valid. Please start a new conversation and try again.",
    },
    "bad_text": {"zh": "问题必须是文字。", "en": "The question must be text."},
    "control_chars": {
        "zh": "问题里有无法识别的特殊字符，请删除后再试。",
        "en": "Your question contains special characters that cannot be read. Please remove them and try again.",
    },
    "bad_feedback": {
        "zh": "评价没有保存：内容格式有误。",
        "en": "Your rating was not saved: the request was not valid.",
    },
    "too_large": {"zh": "请求内容太大。", "en": "The request is too large."},
    "too_slow": {"zh": "请求发送超时，请再试一次。", "en": "The request took too long to arrive. Please try again."},
    "bad_content_type": {
        "zh": "请求格式有误，请刷新页面后再试。",
        "en": "The request was not understood. Please reload the page and try again.",
    },
    "bad_origin": {
        "zh": "此网站无权使用支塘小助手。",
        "en": "This website is not allowed to use Zhitang Assistant.",
    },
    "rate_limited": {
        "zh": "您提问有点快了，请稍等{seconds}秒再试。谢谢您的耐心！",
        "en": "You are sending messages a little too fast. Please wait {seconds} seconds and try again. Thank you!",
    },
    "unavailable": {
        "zh": "抱歉，小助手暂时无法回答，请稍后再试，或到支塘镇便民服务中心咨询。",
        "en": "Sorry, the assistant is temporarily unavailable. Please try again later, or visit the Zhitang "
        "Town Public Service Centre.",
    },
    "feedback_saved": {"zh": "谢谢您的评价！", "en": "Thank you for your feedback!"},
    "not_found": {"zh": "页面不存在。", "en": "Page not found."},
    "forgotten": {
        "zh": "这次对话的记录已从服务器上删除。",
        "en": "This conversation has been deleted from the server.",
    },
}


def message(key: str, lang: str, **values: object) -> str:
    """A gateway message in the language, with its placeholders filled."""
    return MESSAGES[key][lang if lang in LANGS else "zh"].format(**values)
