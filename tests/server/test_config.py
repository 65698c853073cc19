"""Settings come from the environment, and production refuses the default secret."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from server.config import Settings


def test_from_env_and_default_sqlite_path(tmp_path: Path) -> None:
    settings = Settings.from_env({"KIEMKE_DATA_DIR": str(tmp_path), "KIEMKE_SERVICE_LIFE_YEARS": "6",
                                  "KIEMKE_BUILTIN_AV_LICENSED": "false"})
    assert settings.url == f"sqlite:///{tmp_path.resolve() / 'kiemke.db'}"
    assert settings.service_life_years == 6 and settings.builtin_av_licensed is False
    assert settings.signature_max_age_days == 7 and settings.stale_after_days == 30
    other = Settings.from_env({"DATABASE_URL": "postgresql+psycopg://u@h/db"})
    assert other.url == "postgresql+psycopg://u@h/db"


def test_production_refuses_the_default_secret() -> None:
    with pytest.raises(ValidationError, match="KIEMKE_SECRET_KEY"):
        Settings.from_env({"KIEMKE_ENV": "production"})
    assert Settings.from_env({"KIEMKE_ENV": "production", "KIEMKE_SECRET_KEY": "x" * 40}).environment == "production"
