"""`qcr calendar load FILE` and the calendar in force."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app import cli
from app.calendar import service

D = dt.date


async def test_a_loaded_year_is_in_force_and_can_be_replaced(session: AsyncSession) -> None:
    year = service.YearFile.model_validate_json(
        json.dumps({"year": 2031, "holidays": ["2031-01-01"], "workdays": ["2031-01-04"]})
    )
    await service.load_year(session, year)
    cal = await service.current(session)
    assert cal.knows(2031)
    assert not cal.is_working_day(D(2031, 1, 1))
    assert cal.is_working_day(D(2031, 1, 4))

    again = service.YearFile(year=2031, holidays=[D(2031, 1, 2)], workdays=[])
    await service.load_year(session, again)
    cal = await service.current(session)
    assert cal.is_working_day(D(2031, 1, 1))
    assert not cal.is_working_day(D(2031, 1, 2))
    assert not cal.is_working_day(D(2031, 1, 4))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"year": 2031, "holidays": ["2030-12-31"], "workdays": []}, "is not in 2031"),
        ({"year": 2031, "holidays": ["2031-01-01"], "workdays": ["2031-01-01"]}, "both a holiday"),
        ({"year": 2031, "holidays": [1700000000], "workdays": []}, "holidays.0"),
        ({"year": 2031, "holidays": ["2031-02-30"], "workdays": []}, "holidays.0"),
        ({"year": "2031", "holidays": [], "workdays": []}, "year"),
        ({"year": 2031, "holidays": []}, "workdays"),
        ({"year": 2031, "holidays": [], "workdays": [], "note": 1}, "note"),
    ],
)
def test_a_bad_file_is_refused_with_its_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: object, message: str
) -> None:
    path = tmp_path / "calendar.json"
    path.write_text(json.dumps(body))
    assert cli.main(["calendar", "load", str(path)]) == 2
    assert message in capsys.readouterr().err


def test_a_missing_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["calendar", "load", str(tmp_path / "none.json")]) == 2
    err = capsys.readouterr().err
    assert "none.json" in err
    assert "Traceback" not in err
