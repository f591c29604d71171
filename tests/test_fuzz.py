"""Contract fuzzing: Schemathesis runs every operation of `/openapi.json` against a live
`pubapi serve`, on SQLite and on PostgreSQL, with every check and all four phases (examples,
coverage, fuzzing, stateful), and must find nothing.

Its configuration is `schemathesis.toml` (the seed is fixed there, so a failure reproduces;
why `positive_data_acceptance` accepts 422 is written there too). CI runs 50 examples per
operation and phase; `PUBAPI_FUZZ_EXAMPLES=1000 .venv/bin/pytest tests/test_fuzz.py` runs longer,
and `PUBAPI_FUZZ_SEED` another seed.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.config import PROJECT_ROOT
from tests.conftest import ENGINES, Database
from tests.test_live_server import clean_env, serving

ST = str(Path(sys.executable).parent / "st")
CONFIG = PROJECT_ROOT / "schemathesis.toml"
EXAMPLES = os.environ.get("PUBAPI_FUZZ_EXAMPLES")
SEED = os.environ.get("PUBAPI_FUZZ_SEED")
PHASES = ("Examples", "Coverage", "Fuzzing", "Stateful")
OPERATIONS = 17


@pytest.mark.parametrize("kind", ENGINES)
def test_schemathesis_finds_nothing(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'pubapi.db'}"
        if kind == "sqlite"
        else request.getfixturevalue("postgres_databases").create()
    )
    database = Database(kind, url)
    env = clean_env(
        PUBAPI_DATABASE_URL=database.url,
        # The fuzzer writes consents far faster than a visitor: the limit would answer 429.
        PUBAPI_CONSENT_RATE_LIMIT="1000000/minute",
        PUBAPI_ACCESS_LOG="false",
    )
    extra = [f"--max-examples={EXAMPLES}"] * bool(EXAMPLES) + [f"--seed={SEED}"] * bool(SEED)
    with serving(tmp_path, env) as (base, _process):
        run = subprocess.run(
            [ST, "--config-file", str(CONFIG), "run", f"{base}/openapi.json", "--no-color", *extra],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=1800,
        )
    report = run.stdout + run.stderr
    assert run.returncode == 0, report[-6000:]
    assert f"Operations:       {OPERATIONS} selected / {OPERATIONS} total" in report
    for phase in PHASES:
        assert f"✅ {phase}" in report, report[-3000:]
    found = re.search(r"(\d+) generated, (\d+) passed", report)
    assert found is not None, report[-3000:]
    generated, passed = map(int, found.groups())
    assert generated == passed
    # 50 examples per operation and phase (fewer where an operation has few inputs).
    assert generated >= 1000, generated
    print(f"\n{kind}: {generated} test cases, all passed")
