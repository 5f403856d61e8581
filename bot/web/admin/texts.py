"""The admin's words in Chinese and English: labels, field names, SQLAdmin's own buttons; times in local time."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from bot import settings
from kb import shape, stats
from kb.build import parse_iso
from kb.models import SATISFACTION_LEVELS

TITLE = "支塘小助手 · 知识库管理 Zhitang Assistant · Knowledge base"

STAFF_FIELDS = {f.name: f"{f.label['zh']} {f.label['en'][:1].upper()}{f.label['en'][1:]}" for f in shape.STAFF_FIELDS}

TOPICS = {
    "business": "营商环境 Business",
    "culture_sports": "文化体育 Culture & sports",
    "education": "教育 Education",
    "elder_care": "养老 Elder care",
    "environment": "生态环境 Environment",
    "governance": "基层治理 Governance",
    "health": "卫生健康 Health",
    "jobs": "就业 Jobs",
    "legal": "法律服务 Legal services",
    "medical_insurance": "医保 Medical insurance",
    "relief": "救助 Relief & charity",
    "safety": "安全 Safety",
    "service_centre": "便民服务中心 Service centre",
}

KINDS = {
    "statement": "陈述 Statement",
    "amount": "金额 Amount of money",
    "count": "数量 Count",
    "rate": "比例 Rate",
}

ACTIONS = {
    "create": "新建 Created",
    "update": "修改 Edited",
    "retire": "停用 Retired",
    "unretire": "重新启用 Reactivated",
    "restore": "恢复旧版本 Restored",
    "attach": "关联问题 Question attached",
    "answer": "回答问题 Question answered",
    "import": "导入 Imported",
    "report": "新报告 From a new report",
}

# The unanswered queue: why a question is dismissed, and what the bot had replied.
DISMISS_REASONS = {"off_topic": "无关 Off-topic", "spam": "垃圾信息 Spam", "duplicate": "重复 Duplicate"}
QUEUE_STATUS = {"open": "待处理 To do", "answered": "已回答 Answered", "dismissed": "已忽略 Dismissed"}

# The start page: what the bot replied (kb.stats.OUTCOMES), residents' languages, the 5-level rating.
_OUTCOME_NAMES = "答上了 Answered|“您是不是想问” Did you mean|只给了报告原文 Report sentence|不知道/没有 Didn't know"
OUTCOMES = dict(zip(stats.OUTCOMES, _OUTCOME_NAMES.split("|"), strict=True))
# Each reply kind the queue records (actions/service.py UNANSWERED_KINDS) by what it came to, two by their own name.
REPLY_KINDS = {kind: OUTCOMES[outcome] for outcome, kinds in stats.OUTCOMES.items() for kind in kinds}
REPLY_KINDS.update(out_of_scope="不在服务范围 Out of scope", field_unknown="没有这项信息 Detail not filled")
LANGUAGES = {"zh": "中文 Chinese", "en": "英文 English", "": "未识别 Not detected"}
# kb.models.SATISFACTION_LEVELS, best first, as the government-service rating names them.
SATISFACTION = dict(
    zip(
        SATISFACTION_LEVELS,
        (
            "非常满意 Very satisfied",
            "满意 Satisfied",
            "基本满意 Fairly satisfied",
            "不满意 Dissatisfied",
            "非常不满意 Very dissatisfied",
        ),
        strict=True,
    )
)
# kb.stats.HandoverNumbers: the start page's live-handover card and its CSV rows.
HANDOVER_NUMBERS = {
    "waiting": "排队中 Waiting now",
    "active": "接待中 Being answered now",
    "taken_today": "今天已接入 Taken today",
    "messages_left": "待处理留言 Messages to answer",
}
OCCASIONS = {"end": "对话结束时 End of chat", "handoff": "转人工后 After handover"}
NO_TOPIC = "(无条目 no entry)"

ROLES = {"viewer": "只读 Viewer", "editor": "编辑 Editor", "admin": "管理员 Admin"}

PATHS = {
    "topic": "主题 Topic",
    "title": "标题 Title",
    "summary": "简介 Summary",
    "aliases": "别名 Other names",
    "situations": "情境 Situations",
    "related": "相关条目 Related entries",
    "retired": "已停用 Retired",
    "staff": "",
    "facts": "事实 Fact",
    "figure": "数字 Figure",
    "figure_en": "英文数字 Figure (English)",
    "keywords": "关键词 Keywords",
    "kind": "类型 Kind",
    "quote": "报告原文 Report quote",
    "source": "来源 Source",
    "created_by": "提供人 Provided by",
    "created_at": "提供时间 Provided at",
    "zh": "中文",
    "en": "English",
    **STAFF_FIELDS,
}

SAVED = "已保存。机器人从下一个问题起就用新内容。 / Saved: the bot uses it from the next question."

# SQLAdmin's own texts (its templates call _("…")); buttons whose value SQLAdmin checks are not translated.
CHROME = {
    "List": "列表 List",
    "Details": "详情 Details",
    "Create": "新建 Create",
    "Edit": "编辑 Edit",
    "Delete": "删除 Delete",
    "Export": "导出 Export",
    "New %(name)s": "新建 New: %(name)s",
    "Edit %(name)s": "编辑 Edit: %(name)s",
    "Cancel": "取消 Cancel",
    "Column": "项目 Field",
    "Value": "内容 Value",
    "Go Back": "返回 Back",
    "Logout": "退出登录 Sign out",
    "Actions": "操作 Actions",
    "Search": "搜索",
    "View": "查看 View",
    "Showing %(start)s to %(end)s of %(count)s items": "第 %(start)s–%(end)s 条,共 %(count)s 条 / "
    "%(start)s–%(end)s of %(count)s",
    "prev": "上一页 prev",
    "next": "下一页 next",
    "Show": "每页 Show",
    "%(size)s / Page": "%(size)s 条/页 per page",
    "Filters": "筛选 Filters",
    "Clear filter": "清除筛选 Clear filter",
    "Apply Filter": "筛选 Apply",
    "Login to %(title)s": "登录 Sign in: %(title)s",
    "Username": "用户名 Username",
    "Enter username": "用户名 Username",
    "Password": "密码 Password",
    "Login": "登录 Sign in",
    "Close": "关闭 Close",
    "Please confirm": "请确认 Please confirm",
    "Yes": "确定 Yes",
    "All": "全部 All",
    "You are not authorized to view these records.": "您没有查看这些记录的权限。 / You may not view these records.",
}


def gettext(message: str) -> str:
    """SQLAdmin's English text with its Chinese in front."""
    return CHROME.get(message, message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """Plural-aware gettext (the admin's texts do not change with the number)."""
    return gettext(singular if n == 1 else plural)


def local_time(moment: datetime | None) -> str:
    """A stored (UTC) time in the town's time zone, to the minute."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(ZoneInfo(settings.ADMIN_TIMEZONE)).strftime("%Y-%m-%d %H:%M")


def local_iso(value: str | None) -> str:
    """An ISO 8601 timestamp (as kb.build.iso writes them) in the town's time zone."""
    return local_time(parse_iso(value)) if value else ""


def path_label(path: str) -> str:
    """A readable name for a changed field ("staff.hours.zh" → "办公时间 Opening hours · 中文")."""
    parts = path.split(".")
    if parts[0] == "facts" and len(parts) > 2:
        rest = " · ".join(PATHS.get(p, p) for p in parts[2:])
        return f"{PATHS['facts']} {parts[1]} · {rest}"
    return " · ".join(label for label in (PATHS.get(p, p) for p in parts) if label)


def change_summary(changes: list) -> list[str]:
    """What a change touched, one readable item per field or fact ("办公时间 Opening hours", "新增事实 New fact staff_1")."""
    items: list[str] = []
    facts: dict[str, list] = {}
    for change in changes:
        parts = change.path.split(".")
        if parts[0] == "facts" and len(parts) > 2:
            facts.setdefault(parts[1], []).append(change)
            item = f"facts.{parts[1]}"
        else:
            item = ".".join(p for p in parts if p not in ("zh", "en"))
        if item not in items:
            items.append(item)
    labels = []
    for item in items:
        if item.startswith("facts."):
            key, group = item[6:], facts[item[6:]]
            if all(c.before in (None, "", []) for c in group):
                labels.append(f"新增事实 New fact {key}")
            elif all(c.after in (None, "", []) for c in group):
                labels.append(f"移除事实 Removed fact {key}")
            else:
                labels.append(f"{PATHS['facts']} {key}")
        else:
            labels.append(path_label(item))
    return labels
