from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    DateField,
    FieldList,
    FormField,
    RadioField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional


class ItemEntry(FlaskForm):
    class Meta:
        csrf = False

    what = TextAreaField(_l("What must be put right"), validators=[Optional(), Length(max=2000)])
    rule = StringField(_l("Rule or contract clause it breaks"), validators=[Optional(), Length(max=500)])


class NoticeForm(FlaskForm):
    items = FieldList(FormField(ItemEntry), min_entries=3, max_entries=10)
    due = DateField(_l("Deadline"), validators=[DataRequired(_l("Please give the deadline"))])
    submit = SubmitField(_l("Issue the notice"))


class AnswerForm(FlaskForm):
    text = TextAreaField(_l("What was done"), validators=[DataRequired(_l("Please say what was done")),
                                                          Length(max=4000)])
    file = FileField(_l("Evidence (PDF, JPEG or PNG)"))
    submit = SubmitField(_l("Send the answer"))


class DecisionForm(FlaskForm):
    verdict = RadioField(_l("Decision"), choices=[SelectChoice("accept", _l("Accept: put right")),
                                                  SelectChoice("send_back", _l("Send back"))],
                         validators=[DataRequired(_l("Please choose a decision"))])
    note = TextAreaField(_l("Note (required when sending back)"), validators=[Optional(), Length(max=2000)])
    submit = SubmitField(_l("Record the decision"))
