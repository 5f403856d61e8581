"""The admin's forms (WTForms): entries in both languages with every staff field, facts, staff accounts."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape
from wtforms import Form, HiddenField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.fields import BooleanField, Field
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import html_params

from bot.web.admin.texts import KINDS, ROLES, STAFF_FIELDS, TOPICS
from kb.shape import STAFF_FIELD_NAMES, EntryData, FactData, OptionalPair, staff_field


class TagsWidget:
    """A multiple select whose options are rendered by the server (SQLAdmin's script makes it a tag box)."""

    def __call__(self, field: TagsField, **kwargs: Any) -> Markup:
        kwargs.setdefault("id", field.id)
        kwargs.setdefault("class_", "form-control")
        kwargs.update({"name": field.name, "multiple": True, "data-role": "select2-tags", "data-json": "[]"})
        values = list(field.data or [])
        options = values + [value for value, _ in field.choices if value not in values]
        labels = dict(field.choices)
        html = [f"<select {html_params(**kwargs)}>"]
        for value in options:
            selected = " selected" if value in values else ""
            html.append(f'<option value="{escape(value)}"{selected}>{escape(labels.get(value, value))}</option>')
        html.append("</select>")
        return Markup("".join(html))


class TagsField(Field):
    """A list of short texts (names, keywords, related entry ids), one tag each."""

    widget = TagsWidget()

    def __init__(self, label: str | None = None, validators=None, choices: list[tuple[str, str]] | None = None, **kw):
        super().__init__(label, validators, **kw)
        self.choices = list(choices or [])

    def process_formdata(self, valuelist: list[str]) -> None:
        """Keep the non-empty values, in order, each once."""
        seen: list[str] = []
        for value in valuelist:
            value = value.strip()
            if value and value not in seen:
                seen.append(value)
        self.data = seen

    def process_data(self, value: Any) -> None:
        """Start from a list (None is an empty list)."""
        self.data = list(value or [])


def _text(label: str, required: bool = False, rows: int = 0) -> Field:
    validators = [DataRequired(message="必填 / Required")] if required else [Optional()]
    if rows:
        return TextAreaField(label, validators, render_kw={"rows": rows})
    return StringField(label, validators)


def entry_form(topics: list[str], entries: list[tuple[str, str]]) -> type[Form]:
    """The entry form: id, topic, titles, summaries, names, related entries and every staff field, zh and en."""
    topic_choices = [(t, TOPICS.get(t, t)) for t in sorted(set(topics) | set(TOPICS))]

    class EntryForm(Form):
        revision = HiddenField()
        id = StringField(
            "编号 ID",
            [DataRequired(message="必填 / Required"), Length(max=64)],
            description="小写英文字母、数字和下划线,例如 bus_pass_for_seniors;保存后不能再改。 / snake_case, e.g. "
            "bus_pass_for_seniors; cannot change later.",
        )
        topic = SelectField("主题 Topic", choices=topic_choices)
        title_zh = _text("标题 Title · 中文", required=True)
        title_en = _text("标题 Title · English", required=True)
        summary_zh = _text("简介 Summary · 中文", required=True, rows=3)
        summary_en = _text("简介 Summary · English", required=True, rows=3)
        aliases_zh = TagsField("别名 Other names · 中文", description="居民可能怎么叫它 / how residents name it")
        aliases_en = TagsField("别名 Other names · English")
        situations_zh = TagsField(
            "情境 Situations · 中文", description="居民不说服务名时怎么描述需要 / how residents describe the need"
        )
        situations_en = TagsField("情境 Situations · English")
        related = TagsField("相关条目 Related entries", choices=entries)

    for name in STAFF_FIELD_NAMES:
        rows = 3 if staff_field(name).long else 0
        setattr(EntryForm, f"{name}_zh", _text(f"{STAFF_FIELDS[name]} · 中文", rows=rows))
        setattr(EntryForm, f"{name}_en", _text(f"{STAFF_FIELDS[name]} · English", rows=rows))
    return EntryForm


def entry_data(form_data: dict[str, Any]) -> EntryData:
    """The entry form's values in the KB's YAML shape (facts are edited on their own screen)."""

    def clean(value: Any) -> str:
        return str(value or "").strip()

    return {
        "id": clean(form_data.get("id")),
        "topic": clean(form_data.get("topic")),
        "title": {"zh": clean(form_data.get("title_zh")), "en": clean(form_data.get("title_en"))},
        "summary": {"zh": clean(form_data.get("summary_zh")), "en": clean(form_data.get("summary_en"))},
        "aliases": {"zh": list(form_data.get("aliases_zh") or []), "en": list(form_data.get("aliases_en") or [])},
        "situations": {
            "zh": list(form_data.get("situations_zh") or []),
            "en": list(form_data.get("situations_en") or []),
        },
        "related": list(form_data.get("related") or []),
        "staff": {
            name: OptionalPair(
                zh=clean(form_data.get(f"{name}_zh")) or None, en=clean(form_data.get(f"{name}_en")) or None
            )
            for name in STAFF_FIELD_NAMES
            if clean(form_data.get(f"{name}_zh")) or clean(form_data.get(f"{name}_en"))
        },
    }


def fact_form(entries: list[tuple[str, str]]) -> type[Form]:
    """The fact form: which entry, kind, figure, text and keywords in both languages."""

    class FactForm(Form):
        entry_revision = HiddenField()
        entry_id = SelectField("所属条目 Entry", choices=entries)
        kind = SelectField("类型 Kind", choices=list(KINDS.items()), default="statement")
        figure = _text("数字 Figure · 中文")
        figure_en = _text("数字 Figure · English")
        text_zh = _text("内容 Text · 中文", required=True, rows=3)
        text_en = _text("内容 Text · English", required=True, rows=3)
        keywords_zh = TagsField(
            "关键词 Keywords · 中文", description="问到这些词时优先回答这一条 / words that point here"
        )
        keywords_en = TagsField("关键词 Keywords · English")

    return FactForm


def fact_data(form_data: dict[str, Any]) -> FactData:
    """The fact form's values in the KB's YAML shape."""
    return {
        "kind": form_data.get("kind") or "statement",
        "figure": str(form_data.get("figure") or "").strip() or None,
        "figure_en": str(form_data.get("figure_en") or "").strip() or None,
        "zh": str(form_data.get("text_zh") or "").strip(),
        "en": str(form_data.get("text_en") or "").strip(),
        "keywords": {"zh": list(form_data.get("keywords_zh") or []), "en": list(form_data.get("keywords_en") or [])},
    }


class UserForm(Form):
    """A staff account: name, role, active, and a new password (blank keeps the old one)."""

    username = StringField("用户名 Username", [DataRequired(message="必填 / Required"), Length(min=2, max=100)])
    role = SelectField("角色 Role", choices=list(ROLES.items()), default="viewer")
    active = BooleanField("启用 Active", default=True)
    password = PasswordField(
        "新密码 New password",
        [Optional()],
        description="至少 12 个字符、不常见;修改账号时留空表示不改 / at least 12 characters, not a common one; "
        "leave blank to keep the old one",
    )
