"""The forms of Circular 03/2025/TT-VPCP (Annex I) as documents: numbered per unit and year when issued,
kept with the dossier, given to the applicant, printed from a page or downloaded as a PDF with its fonts.

* :mod:`domain.forms.models` — the issued forms and the per-unit, per-year counters;
* :mod:`domain.forms.issue` — the workflow effect that issues a form (any transition whose ``form`` is
  set), the numbering, who may read an issued form, the applicant's copy in the wallet;
* :mod:`domain.forms.render` — one view of a form (header, title, fields, signature) for the page and
  the PDF (fpdf2, Noto fonts embedded and subset).
"""
