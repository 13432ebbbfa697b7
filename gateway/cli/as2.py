"""`gateway as2`: the AS2 endpoint alone (`POST /as2`), and `gateway as2 check` to see what
the partner file's AS2 tables give (our ids and keys, partners and their certificates, each
with its validity)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gateway.cli.context import AppContext, pass_app
from gateway.errors import ConfigurationError

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from gateway.as2.outgoing import SendPlan
    from gateway.as2.partners import As2Directory

DEFAULT_WARN_DAYS = 30
WORKERS_ENV = "GATEWAY_AS2_WORKERS"
PARTNERS_HELP = "The partner file with the AS2 tables [default: GATEWAY_AS2_PARTNERS]."


def _partner_file(path: Path | None) -> Path:
    chosen = path or (Path(os.environ["GATEWAY_AS2_PARTNERS"])
                      if os.environ.get("GATEWAY_AS2_PARTNERS") else None)
    if chosen is None:
        raise ConfigurationError("name the partner file with --partners or "
                                 "GATEWAY_AS2_PARTNERS (docs/as2.md)")
    return chosen


@click.group("as2", invoke_without_command=True)
@click.option("--partners", "partners_path", type=click.Path(path_type=Path, dir_okay=False),
              help=PARTNERS_HELP)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0 in a container).")
@click.option("--port", type=click.IntRange(1, 65535), default=8010, show_default=True,
              help="Port to listen on.")
@click.option("--tls-cert", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="PEM certificate (chain) to serve HTTPS with [default: "
                   "GATEWAY_AS2_TLS_CERT; none: plain HTTP].")
@click.option("--tls-key", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Its PEM private key [default: GATEWAY_AS2_TLS_KEY].")
@click.option("--workers", type=click.IntRange(1, 64), envvar=WORKERS_ENV,
              help="Processes serving requests (uvicorn workers), each opening, storing and "
                   "signing on its own. Default: one per CPU this process may use (its "
                   "affinity and cgroup quota). Also GATEWAY_AS2_WORKERS.")
@click.pass_context
def as2(ctx: click.Context, partners_path: Path | None, host: str, port: int,
        tls_cert: Path | None, tls_key: Path | None, workers: int | None) -> None:
    """Receive AS2 messages (RFC 4130) at POST /as2 and answer their MDNs; each is stored
    and committed before its MDN, then processed in the background (by Celery workers when
    GATEWAY_BROKER_URL is set). Stops on SIGINT or SIGTERM."""
    if ctx.invoked_subcommand is not None:
        return
    app = ctx.find_object(AppContext)
    assert app is not None
    tls = _tls(tls_cert or _env_path("GATEWAY_AS2_TLS_CERT"),
               tls_key or _env_path("GATEWAY_AS2_TLS_KEY"))
    from gateway.runtime import usable_cpus

    _serve(app, _partner_file(partners_path), host, port, tls, workers or usable_cpus())


def _env_path(name: str) -> Path | None:
    return Path(os.environ[name]) if os.environ.get(name) else None


def _tls(cert: Path | None, key: Path | None) -> tuple[str, str] | None:
    if (cert is None) != (key is None):
        raise ConfigurationError("TLS needs both a certificate and its key")
    return None if cert is None or key is None else (str(cert), str(key))


def _serve(app: AppContext, path: Path, host: str, port: int,
           tls: tuple[str, str] | None, workers: int) -> None:
    """One process, or `workers` processes started by uvicorn, each with the whole endpoint
    (the partner file's watch, the channel's group commit, the dispatcher): a request is
    archived and committed by the process that answers it, so every guarantee holds per
    process. Checked once, here: the schema, the partner file, the certificates' dates."""
    import uvicorn

    from gateway.as2.reload import PartnerFileWatch
    from gateway.bootstrap import configure_logging
    from gateway.persistence.schema import current_revision

    directory = PartnerFileWatch(path, os.environ).current()
    if current_revision(app.engine) is None:
        raise ConfigurationError(f"{app.settings.display_url} holds no gateway schema; run "
                                 "`gateway init` first")
    _warn_at_start(app, directory)
    configure_logging()
    # Timeouts bound a slow or idle client: it holds one connection, never the others.
    options: dict[str, Any] = {
        "host": host, "port": port, "log_config": None, "server_header": False,
        "timeout_keep_alive": 5, "limit_concurrency": 200,
        "ssl_certfile": tls[0] if tls else None, "ssl_keyfile": tls[1] if tls else None}
    if workers == 1:
        with _endpoint(app, path) as served:
            uvicorn.run(served, **options)
        return
    # Each worker builds its endpoint from the environment (`app_from_environment`).
    os.environ["GATEWAY_AS2_PARTNERS"] = str(path.resolve())
    uvicorn.run(WORKER_APP, factory=True, workers=workers, **options)


WORKER_APP = "gateway.cli.as2:app_from_environment"


@contextmanager
def _endpoint(app: AppContext, path: Path) -> Iterator[Starlette]:
    """The endpoint of one process: `POST /as2` with the partner file's watch, its channel
    and a dispatcher; what is queued is committed before the dispatcher closes."""
    from gateway.as2.reload import PartnerFileWatch
    from gateway.bootstrap import make_session_factory
    from gateway.channels.as2 import As2Channel
    from gateway.cli.worker import open_dispatcher
    from gateway.services.as2_certificates import partner_file_reporter
    from gateway.web.as2_route import as2_app

    transaction = make_session_factory(app.engine, app.session_info()).begin
    # Read again when it or a key or certificate it names changes: a renewal needs no restart.
    watch = PartnerFileWatch(path, os.environ,
                             on_change=partner_file_reporter(transaction, app.now, path))
    with open_dispatcher(app, ["as2"]) as dispatcher:
        channel = As2Channel(transaction, watch.current(), app.now, dispatcher.dispatch)
        try:
            yield as2_app(channel, watch)
        finally:
            channel.close()


def app_from_environment() -> Starlette:
    """The endpoint of one worker process of `gateway as2 --workers N` (uvicorn starts each
    worker afresh and calls this): settings and the partner file from the environment; the
    channel's queue committed and the dispatcher closed when the worker stops."""
    from gateway.bootstrap import configure_logging

    configure_logging()
    stack = ExitStack()
    served = stack.enter_context(_endpoint(AppContext(os.environ),
                                           _partner_file(None)))

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            stack.close()

    served.router.lifespan_context = lifespan
    return served


def _warn_at_start(app: AppContext, directory: As2Directory) -> None:
    """The certificates near their end, as exceptions for IT, each time the endpoint starts."""
    from gateway.as2.partners import expiring
    from gateway.services.as2_certificates import record_expiring

    notices = expiring(directory, app.now(), DEFAULT_WARN_DAYS)
    if notices:
        with app.transaction() as session:
            record_expiring(session, notices, app.now())


@as2.command("check")
@click.option("--partners", "partners_path", type=click.Path(path_type=Path, dir_okay=False),
              help=PARTNERS_HELP)
@click.option("--warn-days", type=click.IntRange(0, 3650), default=DEFAULT_WARN_DAYS,
              show_default=True, help="Warn of certificates that end within this many days.")
@click.option("--record/--no-record", default=False, show_default=True,
              help="Open a CERTIFICATE_EXPIRING exception for IT per such certificate (run "
                   "it daily).")
@pass_app
def check(app: AppContext, partners_path: Path | None, warn_days: int, record: bool) -> None:
    """Load the AS2 tables and print our ids, the partners and every certificate's dates,
    then the certificates that end within --warn-days."""
    from gateway.as2.partners import describe_certificate, directory_from_file, expiring
    from gateway.as2.revocation import describe_crl

    directory = directory_from_file(_partner_file(partners_path), os.environ)
    now = datetime.now(UTC)
    for station, pairs in sorted(directory.stations.items()):
        for pair in pairs:
            click.echo(f"ours {station}: {describe_certificate(pair.certificate, now)}")
    for as2_id, partner in sorted(directory.partners.items()):
        for certificate in partner.certificates:
            revoked = ", REVOKED" if certificate in partner.revoked else ""
            click.echo(f"partner {as2_id} ({partner.supplier_code}): "
                       f"{describe_certificate(certificate, now)}{revoked}")
        for crl in partner.crls:
            click.echo(f"partner {as2_id} ({partner.supplier_code}): {describe_crl(crl, now)}")
    notices = expiring(directory, now, warn_days)
    for notice in notices:
        when = "expired" if notice.days_left < 0 else f"expires in {notice.days_left} day(s)"
        click.echo(f"WARNING {notice.whose}: {notice.subject} {when} "
                   f"({notice.not_after:%Y-%m-%d})")
    if record and notices:
        from gateway.services.as2_certificates import record_expiring

        with app.transaction() as session:
            ids = record_expiring(session, notices, app.now())
        click.echo(f"exceptions for IT: {', '.join(f'#{i}' for i in ids)}")


@as2.group("partners", invoke_without_command=True)
@click.option("--partners", "partners_path", type=click.Path(path_type=Path, dir_okay=False),
              help=PARTNERS_HELP)
@click.pass_context
def partners(ctx: click.Context, partners_path: Path | None) -> None:
    """The AS2 partners: supplier, what their messages must be, how ours are sent to them.
    `add`, `set` and `remove` change a supplier's AS2 table in the partner file (its
    comments and layout kept, checked as the endpoint loads it, written by rename: a running
    endpoint picks it up within seconds)."""
    ctx.ensure_object(dict)["partners_path"] = partners_path
    if ctx.invoked_subcommand is not None:
        return
    from gateway.as2.partners import directory_from_file

    directory = directory_from_file(_partner_file(partners_path), os.environ)
    for as2_id in sorted(directory.partners):
        click.echo(_partner_line(directory, as2_id))


def _partner_line(directory: As2Directory, as2_id: str) -> str:
    partner = directory.partners[as2_id]
    plan = partner.plan
    needs = [word for word, needed in (("signed", partner.require_signed),
                                       ("encrypted", partner.require_encrypted)) if needed]
    sending = (f"to {partner.url}: sign {plan.sign or 'no'}"
               f"{' (PSS)' if plan.sign and plan.pss else ''}, encrypt "
               f"{plan.encrypt.value if plan.encrypt else 'no'}"
               f"{' (OAEP)' if plan.oaep else ''}, compress {'yes' if plan.compress else 'no'}"
               f", MDN {'signed ' if plan.mdn and plan.mdn.signed else ''}"
               f"{_mdn_way(plan)}") if partner.url else "no url: not sent to"
    return (f"{as2_id} ({partner.supplier_code}): receives {', '.join(needs) or 'any'};"
            f" {len(partner.certificates)} certificate(s); {sending}")


def _sending_options(command: Callable[..., None]) -> Callable[..., None]:
    """The keys of a supplier's `as2` table, as options of `add` and `set` (docs/as2.md)."""
    options = [
        click.option("--partners", "partners_path",
                     type=click.Path(path_type=Path, dir_okay=False), help=PARTNERS_HELP),
        click.option("--certificate", "certificates", multiple=True,
                     type=click.Path(path_type=Path, dir_okay=False, exists=True),
                     help="The partner's certificate (PEM or DER); repeat for several. "
                          "With `set`, the whole list in place of the old one."),
        click.option("--ca-certificate", "ca_certificates", multiple=True,
                     type=click.Path(path_type=Path, dir_okay=False, exists=True),
                     help="A CA its certificates must chain to; repeat for several."),
        click.option("--crl", "crls", multiple=True,
                     type=click.Path(path_type=Path, dir_okay=False, exists=True),
                     help="A revocation list signed by one of those CAs; repeat for several."),
        click.option("--url", help="Its AS2 URL, where ours are sent (\"\": not sent to)."),
        click.option("--sign", type=click.Choice(DIGESTS),
                     help="Digest our messages to it are signed with."),
        click.option("--encrypt", type=click.Choice(CIPHERS),
                     help="Cipher our messages to it are encrypted with."),
        click.option("--oaep/--no-oaep", default=None, help="RSA-OAEP key transport."),
        click.option("--pss/--no-pss", default=None, help="RSA-PSS signatures."),
        click.option("--compress/--no-compress", default=None,
                     help="Compress our messages to it."),
        click.option("--mdn", type=click.Choice(["sync", "async", "none"]),
                     help="The MDN asked of it."),
        click.option("--mdn-signed/--no-mdn-signed", default=None,
                     help="Ask for a signed MDN."),
        click.option("--mdn-timeout-minutes", type=click.FloatRange(min=0, min_open=True),
                     help="An asynchronous MDN not back by then fails the row."),
        click.option("--require-signed/--no-require-signed", default=None,
                     help="Its messages must be signed."),
        click.option("--require-encrypted/--no-require-encrypted", default=None,
                     help="Its messages must be encrypted."),
        click.option("--station", help="Our AS2 id towards it (\"\": our only one)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


# What `sign` and `encrypt` take (`partners.send_plan`: cms.HASHES and outgoing.ContentCipher,
# not imported here for a list; a test keeps them the same).
DIGESTS = ["sha1", "sha224", "sha256", "sha384", "sha512", "none"]
CIPHERS = ["aes128_cbc", "aes192_cbc", "aes256_cbc", "tripledes_3key", "aes128_gcm",
           "aes192_gcm", "aes256_gcm", "none"]


@partners.command("add")
@click.argument("code")
@click.argument("as2_id")
@_sending_options
@click.pass_context
def partners_add(ctx: click.Context, /, code: str, as2_id: str, partners_path: Path | None,
                 certificates: tuple[Path, ...], ca_certificates: tuple[Path, ...],
                 crls: tuple[Path, ...], **keys: Any) -> None:
    """Make supplier CODE (an entry of the partner file) the AS2 partner AS2_ID."""
    from gateway.as2.partner_edits import PartnerChange, add_partner

    path = _edited_file(ctx, partners_path)
    change = PartnerChange(certificates=_names(path, certificates) or None,
                           ca_certificates=_names(path, ca_certificates) or None,
                           crls=_names(path, crls) or None, **keys)
    _edit(path, lambda text: add_partner(text, code, as2_id, change), as2_id, "added")


@partners.command("set")
@click.argument("as2_id")
@_sending_options
@click.option("--add-certificate", "added", multiple=True,
              type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="A renewed certificate, listed beside the old ones (each is used while "
                   "its dates say it is valid).")
@click.option("--remove-certificate", "removed", multiple=True,
              type=click.Path(path_type=Path, dir_okay=False),
              help="A certificate to take off the list, as the file names it or by its path.")
@click.pass_context
def partners_set(ctx: click.Context, /, as2_id: str, partners_path: Path | None,
                 certificates: tuple[Path, ...], ca_certificates: tuple[Path, ...],
                 crls: tuple[Path, ...], added: tuple[Path, ...], removed: tuple[Path, ...],
                 **keys: Any) -> None:
    """Change the AS2 partner AS2_ID's table: only the options given."""
    from gateway.as2.partner_edits import PartnerChange, change_partner

    path = _edited_file(ctx, partners_path)
    change = PartnerChange(certificates=_names(path, certificates) or None,
                           ca_certificates=_names(path, ca_certificates) or None,
                           crls=_names(path, crls) or None,
                           add_certificates=_names(path, added),
                           remove_certificates=tuple(_listed_name(path, name)
                                                     for name in removed), **keys)
    _edit(path, lambda text: change_partner(text, as2_id, change), as2_id, "changed")


@partners.command("remove")
@click.argument("as2_id")
@click.option("--partners", "partners_path", type=click.Path(path_type=Path, dir_okay=False),
              help=PARTNERS_HELP)
@click.pass_context
def partners_remove(ctx: click.Context, as2_id: str, partners_path: Path | None) -> None:
    """Take the AS2 partner AS2_ID out of the partner file (its AS2 id and table; the
    supplier's entry stays)."""
    from gateway.as2.partner_edits import remove_partner

    path = _edited_file(ctx, partners_path)
    _edit(path, lambda text: remove_partner(text, as2_id), None, f"{as2_id} removed")


def _edited_file(ctx: click.Context, path: Path | None) -> Path:
    parent = ctx.parent.obj if ctx.parent is not None and ctx.parent.obj else {}
    return _partner_file(path or parent.get("partners_path"))


def _names(partner_file: Path, paths: tuple[Path, ...]) -> tuple[str, ...]:
    """Paths as the partner file names them: relative to its folder when inside it (the
    file is read from there), absolute otherwise. The folder is the one the file is named
    in, not the one a symbolic link to it points into: the endpoint reads names from there."""
    folder = Path(os.path.abspath(partner_file)).parent
    names = []
    for path in paths:
        absolute = Path(os.path.abspath(path))
        names.append(str(absolute.relative_to(folder)) if absolute.is_relative_to(folder)
                     else str(absolute))
    return tuple(names)


def _listed_name(partner_file: Path, path: Path) -> str:
    """A certificate to take off the list: as the file names it when that is how it was
    given (a relative name not found from here), else its path as `_names` writes it."""
    if not path.is_absolute() and not path.exists():
        return str(path)
    return _names(partner_file, (path,))[0]


def _edit(path: Path, edit: Callable[[str], str], as2_id: str | None, done: str) -> None:
    from gateway.as2.partner_edits import write_checked

    try:   # as it is on disk: CRLF line ends stay CRLF
        before = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise ConfigurationError(f"{path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigurationError(f"{path}: not UTF-8 text, as a TOML file must be ({exc}); "
                                 "the file is left as it is") from exc
    directory = write_checked(path, before, edit(before), os.environ)
    click.echo(f"{path}: {done}")
    if as2_id is not None:
        click.echo(_partner_line(directory, as2_id))
    if done != "changed":
        click.echo(f"A running endpoint reads the file again within seconds; `gateway partners "
                   f"load {path}` records the supplier's AS2 id in the database too.")


def _mdn_way(plan: SendPlan) -> str:
    if plan.mdn is None:
        return "none"
    if plan.mdn.async_url is None:
        return "sync"
    return f"async to {plan.mdn.async_url} within {plan.mdn_timeout_minutes:g} min"


@as2.group("crls")
def crls() -> None:
    """Certificate revocation lists the partner entries list (`crls`)."""


@crls.command("fetch")
@click.option("--partners", "partners_path", type=click.Path(path_type=Path, dir_okay=False),
              help=PARTNERS_HELP)
@click.option("--timeout", type=click.FloatRange(min=1), default=30.0, show_default=True,
              help="Seconds to wait for a distribution point.")
def crls_fetch(partners_path: Path | None, timeout: float) -> None:
    """Fetch each listed CRL again from the distribution points its CA's certificates name,
    and replace the file (by rename) when the one served is signed by the entry's CA and not
    older. Run it from cron or a timer; exit status 1 when a CRL could not be refreshed."""
    from functools import partial

    from gateway.services.as2_crls import http_get, refresh_crls

    results = refresh_crls(_partner_file(partners_path), partial(http_get, timeout=timeout),
                           datetime.now(UTC))
    for result in results:
        click.echo(f"{result.path}: {result.outcome}: {result.detail}")
    if not results:
        click.echo("no partner entry lists crls")
    if any(result.outcome == "failed" for result in results):
        raise SystemExit(1)


@as2.group("certs")
def certs() -> None:
    """Certificates and keys: look at one, or import it (PEM, DER, PKCS#12) as files the
    partner file names."""


@certs.command("show")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--password-env", help="The variable holding a PKCS#12 file's password.")
def certs_show(path: Path, password_env: str | None) -> None:
    """Subject, serial, dates and SHA-256 fingerprint of a certificate file."""
    from cryptography.hazmat.primitives import hashes

    from gateway.as2.partners import describe_certificate, read_certificate_file

    certificate, key = read_certificate_file(path, _password(password_env))
    click.echo(describe_certificate(certificate, datetime.now(UTC)))
    click.echo(f"sha256 {certificate.fingerprint(hashes.SHA256()).hex(':')}")
    if key is not None:
        click.echo("holds its private key")


@certs.command("import")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
@click.option("--name", required=True, help="File name (without extension) to write.")
@click.option("--password-env", help="The variable holding a PKCS#12 file's password.")
def certs_import(path: Path, folder: Path, name: str, password_env: str | None) -> None:
    """Write a certificate (PEM, DER or PKCS#12) as FOLDER/NAME.pem, and a PKCS#12 file's
    private key as FOLDER/NAME.key (mode 600); print the partner file lines that name them."""
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
    )

    from gateway.as2.partners import read_certificate_file

    certificate, key = read_certificate_file(path, _password(password_env))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.pem").write_bytes(certificate.public_bytes(Encoding.PEM))
    click.echo(f'certificates = ["{folder / name}.pem"]   # in the partner\'s [suppliers.as2]')
    if key is not None:
        target = folder / f"{name}.key"
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
        click.echo(f'key = "{target}"\ncertificate = "{folder / name}.pem"   # in '
                   "[[as2.stations]] (the key file is readable by its owner only)")


def _password(variable: str | None) -> bytes | None:
    if not variable:
        return None
    if variable not in os.environ:
        raise ConfigurationError(f"{variable} is not set")
    return os.environ[variable].encode()
