from kommunepuls.reference import municipalities


def test_there_are_98_unique_municipality_codes() -> None:
    codes = list(municipalities())
    assert len(codes) == 98
    assert len(set(codes)) == 98
    assert all(len(c) == 3 and c.isdigit() for c in codes)
    assert "411" not in codes  # Christiansø is not a municipality


def test_known_municipalities_and_population_bands() -> None:
    m = municipalities()
    assert m["851"].name == "Aalborg" and m["851"].population_band == "50k+"
    assert m["101"].name == "København" and m["101"].region == "Hovedstaden"
    # Læsø is the smallest: far under 25,000 inhabitants.
    assert m["825"].population_band == "0-25k"
    assert sum(x.population for x in m.values()) == 5_805_991  # reference/README.md check
