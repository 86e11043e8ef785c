from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kommunepuls.domain.identifiers import (
    CVR_WEIGHTS,
    IdentifierError,
    check_cpr,
    check_cvr,
    citizen_id,
    contains_cpr,
    cpr_birth_dates,
    is_cpr,
    is_cvr,
)

KEY = b"test-key-that-is-only-used-in-unit-tests"


@pytest.mark.parametrize(
    "cpr",
    [
        "0101901234",
        "3112991234",
        "2902001234",  # 29 Feb 2000: a leap year (1900 is not, but one century suffices)
        "2902041234",
        "2902961234",
        "3101000000",
    ],
)
def test_cpr_with_a_real_date_is_valid(cpr: str) -> None:
    assert is_cpr(cpr)
    assert check_cpr(cpr) == cpr


@pytest.mark.parametrize(
    "cpr",
    [
        "2902011234",  # 29 Feb in neither 1901 nor 2001
        "3104901234",  # 31 April
        "0001901234",  # day 0
        "0113901234",  # month 13
        "010190123",  # 9 digits
        "01019012345",  # 11 digits
        "010190-1234",  # hyphen is not accepted
        "01019O1234",  # letter O
        "٠١٠١٩٠١٢٣٤",  # Arabic-Indic digits pass str.isdigit() but are not the contract's
        "",
    ],
)
def test_cpr_without_a_real_date_or_ten_ascii_digits_is_invalid(cpr: str) -> None:
    assert not is_cpr(cpr)
    with pytest.raises(IdentifierError):
        check_cpr(cpr)


def test_cpr_is_not_checked_with_modulus_11() -> None:
    # 0101901234 fails the old modulus-11 rule; it has been abandoned since 2007.
    weights = (4, 3, 2, 7, 6, 5, 4, 3, 2, 1)
    assert sum(int(d) * w for d, w in zip("0101901234", weights, strict=True)) % 11 != 0
    assert is_cpr("0101901234")


def test_cpr_birth_dates_offers_both_centuries() -> None:
    assert [d.year for d in cpr_birth_dates("0101501234")] == [1950, 2050]
    assert [d.year for d in cpr_birth_dates("2902001234")] == [2000]


def test_cpr_is_never_in_an_error_message() -> None:
    for bad in ("3104901234", "2902011234", "31049012"):
        with pytest.raises(IdentifierError) as info:
            check_cpr(bad)
        assert bad not in str(info.value)
        assert "3104" not in str(info.value)


def test_cvr_with_valid_check_digit() -> None:
    assert is_cvr("12345674")
    assert check_cvr("12345674") == "12345674"


@pytest.mark.parametrize("cvr", ["12345675", "1234567", "123456740", "1234567a", 12345674])
def test_invalid_cvr_is_refused(cvr: object) -> None:
    assert not is_cvr(cvr)


@given(st.text(alphabet="0123456789", min_size=7, max_size=7), st.integers(0, 9))
def test_cvr_is_valid_exactly_when_the_weighted_sum_is_divisible_by_11(
    prefix: str, check: int
) -> None:
    weighted = sum(int(d) * w for d, w in zip(prefix, CVR_WEIGHTS, strict=False))
    assert is_cvr(f"{prefix}{check}") == ((weighted + check) % 11 == 0)


def test_citizen_id_is_hex_hmac_sha256_of_the_cpr() -> None:
    expected = hmac.new(KEY, b"0101901234", hashlib.sha256).hexdigest()
    assert citizen_id("0101901234", KEY) == expected
    assert len(expected) == 64


def test_citizen_id_depends_on_the_key() -> None:
    assert citizen_id("0101901234", KEY) != citizen_id("0101901234", KEY + b"2")


def test_citizen_id_refuses_an_invalid_cpr_without_naming_it() -> None:
    with pytest.raises(IdentifierError) as info:
        citizen_id("3104901234", KEY)
    assert "3104901234" not in str(info.value)


def test_citizen_id_refuses_an_empty_key() -> None:
    with pytest.raises(IdentifierError):
        citizen_id("0101901234", b"")


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("SAG-0101901234", True),
        ("SAG 010190-1234/2", True),
        ("0101901234", True),
        ("SAG-3104901234", False),  # 31 April: not a date
        ("20190101012345", False),  # a longer number, not a CPR
        ("T-17", False),
    ],
)
def test_contains_cpr_finds_a_cpr_inside_other_text(text: str, found: bool) -> None:
    assert contains_cpr(text) is found
