"""ISO 8601 calendar dates, and nothing else that pydantic would otherwise take for one."""

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import BeforeValidator

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date_only(value: Any) -> Any:
    # pydantic alone also takes Unix times, datetimes and compact forms as dates.
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if not (isinstance(value, str) and ISO_DATE.fullmatch(value)):
        raise ValueError("must be an ISO 8601 date such as 2025-12-31")
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date_only)]
