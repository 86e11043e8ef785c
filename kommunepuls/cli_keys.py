"""`kommunepuls keys`: the Kafka ingress's key pair (registered in kommunepuls/cli.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kommunepuls.config import ConfigError
from kommunepuls.sealing import (
    ALGORITHM,
    PUBLIC_SUFFIX,
    encode_key,
    key_file_path,
    read_key_file,
    write_key_pair,
)


def keys(
    data_dir: Annotated[Path, typer.Option(
        envvar="KOMMUNEPULS_DATA_DIR", help="Data dir; the key goes to <data dir>/ingress-key.")]
    = Path(".kommunepuls"),
    key_file: Annotated[Path | None, typer.Option(
        envvar="KOMMUNEPULS_INGRESS_KEY_FILE", help="Write the private key here instead.")]
    = None,
    replace: Annotated[bool, typer.Option(
        help="Make a new key even if one exists. Senders must fetch the new public key; "
             "records sealed to the old one can no longer be opened.")] = False,
) -> None:
    """Create the Kafka ingress's X25519 key pair; print the public key.

    The private key file (mode 0600) opens the CPR numbers fagsystems seal; in production
    put its content in KOMMUNEPULS_INGRESS_PRIVATE_KEY (a secret) instead. Without
    --replace an existing key is kept and its public key printed.
    """
    path = key_file_path(data_dir, key_file)
    try:
        if path.exists() and not replace:
            key = read_key_file(path)
            typer.echo(f"{path} exists (--replace makes a new one)", err=True)
        else:
            key = write_key_pair(path, replace=replace)
            typer.echo(f"wrote {path} (private, mode 0600) and {path}{PUBLIC_SUFFIX}", err=True)
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"algorithm: {ALGORITHM}", err=True)
    typer.echo(encode_key(key.public_key))
