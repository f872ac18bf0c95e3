"""Every table of the application, imported once so Alembic and tests see the whole schema.

Importing a module that declares tables registers them on ``Base.metadata``; nothing else is needed here.
"""

import domain.accounts.models
import domain.audit
import domain.calendar.store
import domain.catalog.models
import domain.dossiers.models
import domain.forms.models
import domain.outbox.models
import domain.payments.models
import domain.stats.models  # noqa: F401 - the imports above and this one register their tables
from domain.db import Base

metadata = Base.metadata
