from kommunepuls.cli import app

app(prog_name="kommunepuls")
