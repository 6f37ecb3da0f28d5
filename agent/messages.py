"""The operator message catalogue: every text a receptionist, notary or proctor reads, Vietnamese
first and English second, in one place (DESIGN.md "Where it runs").

Code refers to messages by key; :func:`text` fills in parameters. Parameters must already be masked
where they carry personal data.
"""

from __future__ import annotations

from typing import Any

from agent.errors import AgentError

# key -> (Vietnamese, English)
CATALOGUE: dict[str, tuple[str, str]] = {
    # errors, by AgentError.message_key
    "error.internal": ("Lỗi không mong đợi trong phần mềm.", "Unexpected error in the agent."),
    "error.config": ("Cấu hình không hợp lệ.", "The settings are not valid."),
    "error.transport": (
        "Mất kết nối với thẻ. Hãy đặt lại thẻ lên đầu đọc và giữ yên.",
        "Lost contact with the card. Put the card back on the reader and hold it still.",
    ),
    "error.reader_unavailable": (
        "Không tìm thấy đầu đọc thẻ. Kiểm tra cáp USB và dịch vụ PC/SC.",
        "No card reader found. Check the USB cable and the PC/SC service.",
    ),
    "error.card_removed": (
        "Thẻ đã bị nhấc ra khi đang đọc. Hãy đặt lại thẻ và giữ yên.",
        "The card was removed during the read. Tap it again and hold it still.",
    ),
    "error.cancelled": ("Đã hủy.", "Cancelled."),
    "error.card": ("Thẻ từ chối lệnh.", "The card refused a command."),
    "error.access_denied": ("Thẻ không cho phép đọc dữ liệu này.", "The card does not allow this data to be read."),
    "error.file_not_found": ("Thẻ không có dữ liệu này.", "The card does not hold this data."),
    "error.authentication_failed": (
        "Không mở được chip: số CCCD hoặc thông tin MRZ không khớp với thẻ.",
        "Could not open the chip: the ID number or MRZ data does not match the card.",
    ),
    "error.secure_messaging": (
        "Kênh bảo mật với thẻ bị lỗi. Hãy chạm thẻ lại.",
        "The secure channel with the card failed. Tap the card again.",
    ),
    "error.document": ("Dữ liệu trên thẻ không đúng định dạng.", "The data on the card is malformed."),
    "error.mrz_format": ("Thông tin MRZ không hợp lệ.", "The MRZ data is not valid."),
    "error.trust_file": (
        "Tệp chứng chỉ (CSCA, master list hoặc CRL) không hợp lệ.",
        "The certificate file (CSCA, master list or CRL) is not valid.",
    ),
    "error.qr": ("Không đọc được mã QR.", "The QR code could not be read."),
    "error.camera_unavailable": (
        "Không mở được camera. Kiểm tra cáp và xem phần mềm khác có đang dùng camera không.",
        "The camera cannot be opened. Check the cable and whether another program is using it.",
    ),
    "error.qr_decode": (
        "Không tìm thấy mã QR. Đưa mã lại gần camera và giữ yên.",
        "No QR code found. Hold the code closer to the camera and keep it still.",
    ),
    "error.qr_format": (
        "Mã QR không phải mã CCCD hợp lệ.",
        "The QR code is not a valid CCCD code.",
    ),
    # QR codes (agent.qr, python -m agent qr)
    "qr.kind.cccd": ("Mã QR trên thẻ CCCD / Căn cước", "QR code of a CCCD / Căn cước card"),
    "qr.kind.vneid": ("Mã QR VNeID (cần xác thực với hệ thống)", "VNeID QR code (to be verified by the backend)"),
    "qr.kind.unknown": ("Mã QR không phải CCCD hay VNeID", "A QR code that is neither CCCD nor VNeID"),
    "qr.field.id_number": ("Số định danh", "ID number"),
    "qr.field.old_id_number": ("Số CMND cũ", "Old ID number"),
    "qr.field.full_name": ("Họ và tên", "Full name"),
    "qr.field.date_of_birth": ("Ngày sinh", "Date of birth"),
    "qr.field.sex": ("Giới tính", "Sex"),
    "qr.field.address": ("Nơi thường trú", "Permanent address"),
    "qr.field.issue_date": ("Ngày cấp", "Issue date"),
    "qr.vneid_token_length": ("Độ dài mã", "Token length"),
    "qr.mismatch": (
        "Thông tin trên mã QR khác với dữ liệu trong chip: {fields}",
        "The QR code and the chip disagree on: {fields}",
    ),
    "error.backend": ("Lỗi khi tra cứu hệ thống.", "The lookup service failed."),
    "error.backend_unavailable": (
        "Không kết nối được hệ thống tra cứu. Kết quả sẽ được gửi lại khi có mạng.",
        "The lookup service cannot be reached. The record will be sent when the network is back.",
    ),
    "error.backend_rejected": ("Hệ thống tra cứu từ chối yêu cầu.", "The lookup service refused the request."),
    "error.backend_malformed": (
        "Hệ thống tra cứu trả lời không hợp lệ.",
        "The lookup service sent an invalid answer.",
    ),
    "error.store": ("Lỗi cơ sở dữ liệu cục bộ.", "Local database error."),
    "error.store_locked": (
        "Cơ sở dữ liệu đang bận. Thử lại sau giây lát.",
        "The local database is busy. Try again in a moment.",
    ),
    "error.store_corrupt": (
        "Cơ sở dữ liệu cục bộ bị hỏng hoặc sai khóa.",
        "The local database is damaged or encrypted under another key.",
    ),
    "error.sync": ("Chưa đồng bộ được dữ liệu.", "The records could not be synchronised yet."),
    # PC/SC readers (agent.nfc)
    "error.pcsc_service_down": (
        "Dịch vụ thẻ thông minh (PC/SC) chưa chạy. Trên Windows: cắm đầu đọc vào cổng USB, dịch vụ "
        "'Smart Card' sẽ tự khởi động; nếu không, bật dịch vụ này trong Services. Trên Linux: khởi động pcscd.",
        "The smart-card (PC/SC) service is not running. On Windows: plug the reader into a USB port and the "
        "'Smart Card' service starts by itself; if not, start it in Services. On Linux: start pcscd.",
    ),
    "error.no_reader": (
        "Chưa có đầu đọc thẻ nào được kết nối. Hãy cắm đầu đọc vào cổng USB và đợi vài giây.",
        "No card reader is connected. Plug the reader into a USB port and wait a few seconds.",
    ),
    "error.reader_not_found": (
        "Không thấy đầu đọc đã chọn. Kiểm tra cáp USB hoặc chọn đầu đọc khác.",
        "The chosen card reader is not connected. Check its USB cable or choose another reader.",
    ),
    "error.reader_busy": (
        "Đầu đọc đang bị một chương trình khác sử dụng. Hãy đóng chương trình đó rồi thử lại.",
        "Another program is using the card reader. Close that program and try again.",
    ),
    "error.no_card": (
        "Chưa có thẻ trên đầu đọc. Hãy đặt thẻ lên đầu đọc và giữ yên.",
        "There is no card on the reader. Put the card on the reader and hold it still.",
    ),
    "error.not_ndef_tag": (
        "Thẻ hoặc điện thoại này không chứa dữ liệu NFC (NDEF).",
        "This card or phone does not present NFC (NDEF) data.",
    ),
    "readers.none": ("Không có đầu đọc thẻ nào.", "No card reader."),
    "readers.card_present": ("có thẻ", "card present"),
    "readers.no_card": ("không có thẻ", "no card"),
    "readers.card_mute": ("thẻ không trả lời", "card not answering"),
    # trust store (agent.commands.trust)
    "trust.directory": ("Thư mục chứng chỉ tin cậy", "Trust directory"),
    "trust.empty": (
        "Chưa có chứng chỉ CSCA nào: không thể xác thực nguồn gốc dữ liệu chip.",
        "No CSCA certificate loaded: chip data cannot be traced to an issuer.",
    ),
    "trust.certificates": ("Chứng chỉ CSCA", "CSCA certificates"),
    "trust.crls": ("Danh sách thu hồi (CRL)", "Revocation lists (CRL)"),
    "trust.master_list": ("Danh sách CSCA (master list)", "Master list"),
    "trust.expired": ("ĐÃ HẾT HẠN", "EXPIRED"),
    "trust.expires_soon": ("hết hạn trong {days} ngày tới", "expires within {days} days"),
    "trust.not_yet_valid": ("chưa có hiệu lực", "not yet valid"),
    "trust.expiring_heading": (
        "Đã hết hạn hoặc hết hạn trong {days} ngày tới",
        "Expired or expiring within {days} days",
    ),
    "trust.problems": ("Tệp không dùng được", "Files not used"),
    "trust.imported": ("Đã nhập", "Imported"),
    "trust.already_present": ("Đã có sẵn", "Already present"),
    # entitlement checks and sync (agent.entitlement, python -m agent verify / sync)
    "verdict.verified": ("Hợp lệ", "Verified"),
    "verdict.warning": ("Cần lưu ý", "Needs attention"),
    "verdict.rejected": ("Không hợp lệ", "Rejected"),
    "verdict.cannot_check": ("Chưa kiểm tra được lúc này", "Cannot check now"),
    "check.insurance.valid": ("Thẻ BHYT còn hạn", "Health-insurance card valid"),
    "check.insurance.expired": ("Thẻ BHYT đã hết hạn", "Health-insurance card expired"),
    "check.insurance.suspended": ("Thẻ BHYT đang bị tạm khóa", "Health-insurance card suspended"),
    "check.insurance.not_found": ("Không tìm thấy thẻ BHYT", "No health-insurance card found"),
    "check.insurance.unavailable": ("Chưa tra cứu được BHYT lúc này", "Cannot check health insurance now"),
    "check.roster.on_roster": ("Có tên trong danh sách ca thi", "On the session roster"),
    "check.roster.not_on_roster": ("Không có tên trong danh sách ca thi", "Not on the session roster"),
    "check.roster.unavailable": ("Chưa kiểm tra được danh sách ca thi lúc này", "Cannot check the roster now"),
    "check.notary.recorded": ("Đã ghi nhận hồ sơ xác thực danh tính", "Identity-verification record kept"),
    "check.from_cache": ("Theo dữ liệu đã lưu, cập nhật lúc {time}", "From cache, as of {time}"),
    "verify.delivered": ("Đã gửi lên hệ thống.", "Sent to the backend."),
    "verify.queued": ("Đã lưu, sẽ gửi khi có mạng.", "Saved; it will be sent when the network is back."),
    "sync.status": (
        "Chờ gửi: {pending}, đã gửi: {sent}, bị từ chối: {failed}",
        "Pending: {pending}, sent: {sent}, refused: {failed}",
    ),
    "sync.last_error": ("Lỗi gần nhất ({time}): {error}", "Last error ({time}): {error}"),
    "sync.done": (
        "Đã gửi {delivered} bản ghi ({duplicates} đã có sẵn), {rejected} bị từ chối, còn chờ {remaining}.",
        "Sent {delivered} records ({duplicates} already there), {rejected} refused, {remaining} pending.",
    ),
}


def text(key: str, language: str = "vi", **params: Any) -> str:
    """The catalogue text for ``key`` in ``language`` ("vi" or "en"), with ``params`` filled in."""
    vi, en = CATALOGUE.get(key, CATALOGUE["error.internal"])
    template = en if language == "en" else vi
    return template.format(**params) if params else template


def both(key: str, **params: Any) -> str:
    """Vietnamese, then English, on two lines: what the CLI prints."""
    return f"{text(key, 'vi', **params)}\n{text(key, 'en', **params)}"


def for_error(error: AgentError, language: str = "vi") -> str:
    return text(error.message_key, language)
