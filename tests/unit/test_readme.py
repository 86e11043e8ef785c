from pathlib import Path

from kommunepuls.config import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def env_name(field: str) -> str:
    alias = Settings.model_fields[field].validation_alias
    choices = getattr(alias, "choices", None)
    return str(choices[0]) if choices else f"KOMMUNEPULS_{field.upper()}"


def test_every_setting_is_documented_in_the_readme() -> None:
    text = README.read_text()
    missing = []
    for field in Settings.model_fields:
        name = env_name(field)
        # Pairs share a row: `KOMMUNEPULS_INGEST_HOST` / `_PORT`.
        short = "`_" + name.rsplit("_", 1)[1] + "`"
        paired = name.endswith(("_PORT", "_HOST", "_BURST"))
        if f"`{name}`" not in text and not (paired and short in text):
            missing.append(name)
    assert missing == []


def test_readme_starts_with_the_two_commands() -> None:
    head = README.read_text()[:1500]
    assert "make demo" in head and "make test" in head
