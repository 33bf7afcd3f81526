from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField, RadioField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange


class DimensionForm(FlaskForm):
    score = DecimalField(_l("Score (0–100)"), places=2,
                         validators=[InputRequired(_l("Please give a score from 0 to 100")),
                                     NumberRange(min=0, max=100, message=_l("Please give a score from 0 to 100"))])
    narrative = TextAreaField(_l("Narrative"), validators=[DataRequired(_l("Please write the narrative")),
                                                           Length(max=6000)])


class ConclusionForm(FlaskForm):
    rating = SelectField(_l("Rating"), choices=[
        SelectChoice("excellent", _l("Excellent")), SelectChoice("good", _l("Good")),
        SelectChoice("pass", _l("Pass")), SelectChoice("fail", _l("Fail"))])
    rebuy = RadioField(_l("Would the bureau buy from this provider again?"),
                       choices=[SelectChoice("yes", _l("Yes")), SelectChoice("no", _l("No"))],
                       validators=[DataRequired(_l("Please choose yes or no"))])
    summary = TextAreaField(_l("Overall conclusion"), validators=[DataRequired(_l("Please write the overall conclusion")),
                                                                 Length(max=6000)])


class EvaluationCommentForm(FlaskForm):
    text = TextAreaField(_l("Your comment on the evaluation"),
                         validators=[DataRequired(_l("Please write the comment")), Length(max=4000)])


class ConfirmForm(FlaskForm):
    """A bare form: CSRF for the buttons that post nothing else."""
