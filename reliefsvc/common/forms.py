from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, SelectField, SubmitField
from wtforms.fields.choices import SelectChoice

ENCODINGS = [SelectChoice("utf-8", "UTF-8"), SelectChoice("gb18030", "GB18030 / GBK")]


class ImportForm(FlaskForm):
    file = FileField(_l("File (CSV or XLSX)"), validators=[
        FileRequired(_l("Please choose a file")),
        FileAllowed(["csv", "xlsx"], _l("Only CSV and XLSX files can be imported")),
    ])
    encoding = SelectField(_l("Encoding of a CSV file"), choices=ENCODINGS, default="utf-8")
    partial = BooleanField(_l("Import the valid rows even if some rows have errors"))
    submit = SubmitField(_l("Import"))
