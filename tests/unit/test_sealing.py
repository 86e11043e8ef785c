"""Sealed CPRs and the ingress's pure parts: keys, sealing, record splitting, tokens."""

from pathlib import Path

import pytest
from nacl.public import PrivateKey

from kommunepuls.auth import Forbidden, InvalidToken, Role, issue_token
from kommunepuls.config import ConfigError, Settings
from kommunepuls.sealing import (
    Opener,
    UnsealError,
    encode_key,
    ingress_private_key,
    seal_cpr,
    write_key_pair,
)
from services.ingest.ingress_records import Sealed, authenticate, split_record
from services.ingest.intake import RawItem

CPR = "0101901234"
SECRET = b"unit-test-jwt-secret-" + b"s" * 32
GOOD = "g" * 40


def test_a_sealed_cpr_opens_only_with_the_platform_key() -> None:
    key = PrivateKey.generate()
    sealed = seal_cpr(key.public_key, CPR)
    assert CPR not in sealed and sealed != seal_cpr(key.public_key, CPR)  # fresh each time
    assert Opener(key).open(sealed) == CPR
    with pytest.raises(UnsealError, match="cannot be opened") as caught:
        Opener(PrivateKey.generate()).open(sealed)
    assert sealed not in str(caught.value)
    tampered = sealed[:-6] + ("A" if sealed[-6] != "A" else "B") + sealed[-5:]
    for bad in (tampered, "not base64!", 42, "", "A" * 1000):
        with pytest.raises(UnsealError):
            Opener(key).open(bad)


def test_the_key_file_is_private_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "ingress-key"
    first = write_key_pair(path)
    assert path.stat().st_mode & 0o077 == 0
    assert (tmp_path / "keys" / "ingress-key.pub").read_text().strip() == \
        encode_key(first.public_key)
    assert bytes(write_key_pair(path)) == bytes(first)  # an existing key wins the race
    assert bytes(write_key_pair(path, replace=True)) != bytes(first)


def test_where_the_ingress_key_comes_from(tmp_path: Path) -> None:
    embedded = Settings(profile="embedded", data_dir=tmp_path)
    generated = ingress_private_key(embedded)
    assert bytes(ingress_private_key(embedded)) == bytes(generated)
    production = Settings(profile="production", data_dir=tmp_path / "empty",
                          pseudonym_key=GOOD, jwt_secret=GOOD)
    with pytest.raises(ConfigError, match="KOMMUNEPULS_INGRESS_PRIVATE_KEY"):
        ingress_private_key(production)
    given = PrivateKey.generate()
    from_env = Settings(**{**production.model_dump(), "ingress_private_key": encode_key(given)})
    assert bytes(ingress_private_key(from_env)) == bytes(given)
    with pytest.raises(ConfigError, match="32 bytes"):
        ingress_private_key(Settings(**{**production.model_dump(),
                                        "ingress_private_key": "c2hvcnQ="}))
    (tmp_path / "ingress-key").chmod(0o644)
    with pytest.raises(ConfigError, match="readable by others"):
        ingress_private_key(embedded)


def test_a_record_splits_like_an_http_body() -> None:
    assert [i.value for i in split_record(b'{"a": 1}')] == [{"a": 1}]
    assert [i.value for i in split_record(b'[{"a": 1}, {"b": 2}]')] == [{"a": 1}, {"b": 2}]
    assert [i.value for i in split_record(b'{\n  "a": 1\n}')] == [{"a": 1}]  # pretty-printed
    items = split_record(b'{"a": 1}\n{"broken\n\n{"c": 3}')
    assert [i.value for i in items] == [{"a": 1}, None, {"c": 3}]
    assert items[1].parse_error and items[1].parse_error.startswith("line 2")
    for empty in (None, b"", b"  \n"):
        assert split_record(empty)[0].parse_error == "the record is empty"


def test_a_record_is_authenticated_as_http_is() -> None:
    def header(token: str) -> list[tuple[str, bytes]]:
        return [("Authorization", f"Bearer {token}".encode())]

    sender = issue_token(SECRET, subject="fs", role=Role.fagsystem, municipalities=["851"])
    assert authenticate(header(sender), SECRET).municipalities == frozenset({"851"})
    with pytest.raises(InvalidToken):
        authenticate(header(sender), b"another-secret-" + b"x" * 32)
    with pytest.raises(InvalidToken):
        authenticate([], SECRET)
    with pytest.raises(InvalidToken):
        authenticate([("authorization", sender.encode())], SECRET)  # no scheme
    with pytest.raises(Forbidden):
        authenticate(header(issue_token(SECRET, subject="n", role=Role.national)), SECRET)


def test_plaintext_and_unopenable_cprs_are_refused_before_intake() -> None:
    key = PrivateKey.generate()
    sealed = seal_cpr(key.public_key, CPR)
    items = [RawItem({"event_id": "x", "cpr_sealed": sealed}), RawItem({"cpr": CPR}),
             RawItem({"event_id": "y"}), RawItem({"cpr_sealed": "garbage"}),
             RawItem(None, "line 5: broken")]
    out = Sealed(Opener(key)).open_items(items)
    assert out[0] == RawItem({"event_id": "x", "cpr": CPR})
    assert isinstance(out[1], dict) and out[1]["type"].endswith("/plaintext-cpr")
    assert isinstance(out[2], dict) and out[2]["errors"][0]["loc"] == ["cpr_sealed"]
    assert isinstance(out[3], dict) and out[3]["type"].endswith("/sealed-cpr")
    assert out[4] is items[4]
    assert CPR not in repr(out[1:4])
