"""The agent's error model: one root, one class per handling decision (docs/architecture.md "Errors").

Lower layers raise these; the service decides what to do; only the CLI and the local API turn them
into exit codes, HTTP statuses and operator messages. Each class carries a ``message_key`` into the
operator message catalogue (:mod:`agent.messages`) so that what a receptionist reads is chosen in one
place, in Vietnamese first. ``retryable`` tells the caller whether the same action may succeed if
simply tried again (a card held still, a network that comes back).

Exception messages must never contain personal data: pass masked values only (see
:func:`agent.privacy.mask_id`).
"""

from __future__ import annotations


class AgentError(Exception):
    """Root of every error the agent raises on purpose."""

    message_key: str = "error.internal"
    retryable: bool = False
    exit_code: int = 1

    def __init__(self, message: str = "", *, detail: str | None = None) -> None:
        super().__init__(message or self.__class__.__name__)
        self.detail = detail

    @property
    def message(self) -> str:
        return str(self.args[0])


# --- configuration -------------------------------------------------------------------------------


class ConfigError(AgentError):
    """A settings file, key or environment variable is missing or wrong."""

    message_key = "error.config"
    exit_code = 78  # EX_CONFIG

    def __init__(
        self, problem: str, *, source: str | None = None, key: str | None = None
    ) -> None:
        where = ", ".join(p for p in (source, key) if p)
        super().__init__(f"{where}: {problem}" if where else problem)
        self.source = source
        self.key = key
        self.problem = problem


# --- transport: the link to the card; retryable ------------------------------------------------


class TransportError(AgentError):
    """The reader or the link to the card failed; the same read may work if tried again."""

    message_key = "error.transport"
    retryable = True
    exit_code = 69  # EX_UNAVAILABLE


class ReaderUnavailableError(TransportError):
    """No PC/SC service, no reader, or the named reader is absent."""

    message_key = "error.reader_unavailable"


class CardRemovedError(TransportError):
    """The card left the field (or was never there) while we talked to it."""

    message_key = "error.card_removed"


class TransferError(TransportError):
    """The reader or the PC/SC stack failed one transfer (a receive buffer too small, a reader error
    mid-response) while the card stayed on the reader: whether the card executed the command is unknown,
    so a secure-messaging session's counter can no longer be trusted (the read opens a new one)."""


class OperationCancelledError(AgentError):
    """The caller cancelled a long operation (e.g. a file read) on purpose."""

    message_key = "error.cancelled"
    exit_code = 130


# --- card: the card answered, but not what we wanted ---------------------------------------------


class CardError(AgentError):
    """The card rejected or failed a command."""

    message_key = "error.card"
    exit_code = 65


class ApduError(CardError):
    """A command answered with a status word other than success; ``sw`` keeps it."""

    def __init__(self, message: str, sw: int, *, command: str | None = None) -> None:
        super().__init__(f"{message} (SW {sw:04X})")
        self.sw = sw
        self.command = command


class AccessDeniedError(ApduError):
    """6982 / 6985 / 6986: the file or operation is protected (e.g. DG3 under EAC)."""

    message_key = "error.access_denied"


class FileNotFoundOnCardError(ApduError):
    """6A82: the file does not exist on this card (e.g. DG11 on a CCCD)."""

    message_key = "error.file_not_found"


class AuthenticationFailedError(CardError):
    """BAC/PACE/CA/AA failed: wrong key (CAN, MRZ) or a card that does not prove what it claims.

    ``key_kind`` names which key was tried (``"CAN"``, ``"MRZ"``), never the key itself.
    """

    message_key = "error.authentication_failed"

    def __init__(
        self,
        message: str,
        *,
        key_kind: str | None = None,
        sw: int | None = None,
        attempts: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.key_kind = key_kind
        self.sw = sw
        self.attempts = attempts


class SecureMessagingError(CardError):
    """A secure-messaging response failed its MAC, lacked DO'99/DO'8E, or did not decrypt."""

    message_key = "error.secure_messaging"
    retryable = True  # usually a torn or noisy exchange: a fresh read may succeed


# --- document: the bytes we read are not well formed --------------------------------------------


class DocumentError(AgentError):
    """An LDS file, MRZ or other document structure is malformed.

    ``file`` names the file (``"DG13"``, ``"EF.SOD"``, ``"MRZ"``) and the message says what was wrong.
    """

    message_key = "error.document"
    exit_code = 65

    def __init__(self, message: str, *, file: str | None = None) -> None:
        super().__init__(f"{file}: {message}" if file else message)
        self.file = file


class MrzFormatError(DocumentError):
    """An MRZ (or the fields of one) is malformed or fails a check digit."""

    message_key = "error.mrz_format"


class TlvError(DocumentError):
    """A BER-TLV structure is truncated or malformed."""


class ApduFormatError(DocumentError):
    """A command or response APDU cannot be encoded or decoded."""


class TrustFileError(DocumentError):
    """A CSCA certificate, master list or CRL offered to the trust store is malformed or fails its
    checks (e.g. ``python -m agent trust import``); ``file`` names the file."""

    message_key = "error.trust_file"


# --- QR ------------------------------------------------------------------------------------------


class QrError(AgentError):
    """Base of QR problems."""

    message_key = "error.qr"
    exit_code = 65


class CameraUnavailableError(QrError):
    """The camera cannot be opened or stopped delivering frames."""

    message_key = "error.camera_unavailable"
    retryable = True
    exit_code = 69


class ScannerUnavailableError(CameraUnavailableError):
    """A serial QR scanner's port cannot be opened or stopped working (unplugged): handled as a camera
    that is gone (retried, shown as unavailable), with its own operator message."""

    message_key = "error.scanner_unavailable"


class QrDecodeError(QrError):
    """No code could be decoded from the frames given."""

    message_key = "error.qr_decode"
    retryable = True


class QrFormatError(QrError):
    """A decoded CCCD payload is malformed; ``field`` names the field."""

    message_key = "error.qr_format"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field


# --- backends ------------------------------------------------------------------------------------


class BackendError(AgentError):
    """Base of problems with the site's insurance / licensing backends."""

    message_key = "error.backend"
    exit_code = 69


class BackendUnavailableError(BackendError):
    """Timeout, refused connection, 5xx, open circuit breaker: try later or answer from cache."""

    message_key = "error.backend_unavailable"
    retryable = True


class BackendRejectedError(BackendError):
    """The backend understood and said no (4xx): not retried."""

    message_key = "error.backend_rejected"

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class BackendResponseError(BackendError):
    """The backend answered something we cannot trust (bad JSON, missing fields)."""

    message_key = "error.backend_malformed"


# --- store and sync ------------------------------------------------------------------------------


class StoreError(AgentError):
    """The local database cannot be opened, read or written."""

    message_key = "error.store"
    exit_code = 74  # EX_IOERR


class StoreLockedError(StoreError):
    """Another process holds the database; retry shortly."""

    message_key = "error.store_locked"
    retryable = True


class StoreCorruptError(StoreError):
    """The database file is damaged or encrypted under another key."""

    message_key = "error.store_corrupt"


class StoreDamagedError(StoreCorruptError):
    """The integrity check at opening found the file damaged: it is still read (to export the outbox),
    never written to again; the message says how to recover."""

    message_key = "error.store_damaged"


class SyncError(AgentError):
    """The outbox could not be delivered."""

    message_key = "error.sync"
    retryable = True
    exit_code = 75  # EX_TEMPFAIL


# --- input from the operator or the site's software -----------------------------------------------


class InvalidInputError(AgentError):
    """A value typed by the operator or sent to the local API is not acceptable; ``field`` names it.

    The message says what is expected and never repeats the value (it may be personal data)."""

    message_key = "error.invalid_input"
    exit_code = 65  # EX_DATAERR

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field


class UnknownQrCodeError(InvalidInputError):
    """A QR code that is neither a CCCD card's, a VNeID code nor a BHYT card's: refused like bad input,
    with its own operator message."""

    message_key = "error.qr_unknown"


class IdentityDetailsMissingError(InvalidInputError):
    """The insurance lookup needs the citizen's full name and date of birth (or birth year), as the BHXH
    gateway does, and one of them was not given; ``field`` names it."""

    message_key = "error.identity_details_missing"


# --- the operator at the desk -----------------------------------------------------------------------


class OperatorRequiredError(AgentError):
    """A lookup was asked for with no operator signed in at a desk whose operators are listed: every
    lookup carries who made it (the BHXH gateway and the audit trail want it)."""

    message_key = "error.operator_required"
    exit_code = 77  # EX_NOPERM


class OperatorSignInError(AgentError):
    """Signing in failed: no such operator, a wrong PIN, or too many wrong PINs in a row (wait)."""

    message_key = "error.operator_sign_in"
    exit_code = 77

    def __init__(self, message: str, *, locked_for_s: float = 0.0) -> None:
        super().__init__(message)
        self.locked_for_s = locked_for_s
