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
