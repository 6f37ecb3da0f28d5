"""The operator message catalogue: every text a receptionist, notary or proctor reads, Vietnamese
first and English second, in one place (docs/architecture.md "Where to change what").

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
    "error.invalid_input": ("Thông tin nhập vào không hợp lệ.", "The input is not valid."),
    "error.unauthorized": (
        "Thiếu hoặc sai mã truy cập của máy trạm.",
        "The agent's access token is missing or wrong.",
    ),
    "error.forbidden_origin": (
        "Trang web này không được phép gọi máy trạm.",
        "This web page is not allowed to call the agent.",
    ),
    "error.not_found": ("Không tìm thấy kết quả này.", "No such result."),
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
    # the desk: reasons of a verdict (agent.service.verdict)
    "reason.genuine": (
        "Dữ liệu chip do cơ quan cấp thẻ ký số, chip là thẻ thật",
        "The chip data is signed by the issuing authority and the chip is genuine",
    ),
    "reason.passive_failed": (
        "Dữ liệu trên chip đã bị thay đổi hoặc chữ ký số không hợp lệ",
        "The data on the chip was altered or its digital signature is not valid",
    ),
    "reason.clone": (
        "Chip không vượt qua kiểm tra chống sao chép: có thể là thẻ sao chép",
        "The chip failed the anti-copy check: this may be a copied card",
    ),
    "reason.trust_unknown": (
        "Dữ liệu chip có chữ ký số, nhưng máy này chưa có chứng thư của cơ quan cấp thẻ",
        "The chip data is signed, but this computer does not hold the issuer's certificate",
    ),
    "reason.no_clone_check": (
        "Thẻ không hỗ trợ kiểm tra chống sao chép",
        "This card does not support the anti-copy check",
    ),
    "reason.qr_not_signed": (
        "Thông tin lấy từ mã QR, không có chữ ký số",
        "Data taken from the QR code, which is not digitally signed",
    ),
    "reason.typed": (
        "Số do nhân viên nhập tay, danh tính chưa được xác thực",
        "Number typed by the operator; the identity is not verified",
    ),
    "reason.vneid_unverified": (
        "Mã VNeID cần hệ thống xác thực, hiện chưa xác thực được",
        "A VNeID code must be verified by the backend, which could not be done",
    ),
    "reason.old_id": (
        "CMND 9 số cũ: hệ thống chỉ tra cứu theo số định danh 12 số",
        "Old 9-digit ID card: lookups need the 12-digit ID number",
    ),
    "reason.id_inconsistent": (
        "Số định danh không khớp với ngày sinh hoặc giới tính",
        "The ID number does not match the date of birth or the sex",
    ),
    "reason.qr_chip_mismatch": (
        "Mã QR và chip là của hai người khác nhau",
        "The QR code and the chip belong to different people",
    ),
    "reason.already_checked_in": (
        "Thí sinh đã điểm danh ca thi này rồi",
        "This candidate has already checked in for this session",
    ),
    "reason.notary_differences": (
        "Dữ liệu chip khác với thông tin đã nhập (xem các mục được đánh dấu)",
        "The chip data differs from what was entered (see the flagged fields)",
    ),
    "reason.offline": (
        "Trả lời theo dữ liệu đã lưu vì hệ thống tra cứu đang mất kết nối",
        "Answered from saved data: the lookup service cannot be reached",
    ),
    "reason.nothing_checked": ("Chưa kiểm tra được thông tin nào", "Nothing could be checked"),
    # the desk: what to do next
    "next.refuse_card": (
        "Không chấp nhận thẻ này. Đề nghị xuất trình giấy tờ khác và báo người phụ trách.",
        "Do not accept this card. Ask for another document and tell your supervisor.",
    ),
    "next.load_csca": (
        "Báo bộ phận kỹ thuật nạp chứng thư CSCA (python -m agent trust import).",
        "Ask IT to load the CSCA certificates (python -m agent trust import).",
    ),
    "next.check_documents": (
        "Đối chiếu với giấy tờ gốc trước khi tiếp tục.",
        "Compare with the original documents before going on.",
    ),
    "next.tap_card": (
        "Đặt thẻ CCCD lên đầu đọc để xác thực chip.",
        "Put the ID card on the reader to verify its chip.",
    ),
    "next.ask_new_id": (
        "Hỏi số định danh 12 số (trên thẻ CCCD hoặc ứng dụng VNeID).",
        "Ask for the 12-digit ID number (on the chip card or in the VNeID app).",
    ),
    "next.insurance_expired": (
        "Thẻ BHYT không dùng được hôm nay: hướng dẫn gia hạn; tiếp nhận như khám dịch vụ.",
        "The insurance card cannot be used today: explain how to renew it; register as a paying patient.",
    ),
    "next.insurance_not_found": (
        "Hỏi thẻ BHYT giấy hoặc ứng dụng VssID; nếu không có, tiếp nhận như khám dịch vụ.",
        "Ask for the paper insurance card or the VssID app; otherwise register as a paying patient.",
    ),
    "next.backend_down": (
        "Kiểm tra mạng. Kết quả đã được lưu và sẽ tự gửi khi có mạng.",
        "Check the network. The record is saved and will be sent by itself when the network is back.",
    ),
    "next.not_on_roster": (
        "Không cho vào phòng thi. Hướng dẫn thí sinh đến bàn hội đồng thi.",
        "Do not admit to the exam room. Send the candidate to the exam board's desk.",
    ),
    "next.already_checked_in": (
        "Kiểm tra xem có người khác đã dùng danh tính này không.",
        "Check whether someone else has already used this identity.",
    ),
    "next.check_differences": (
        "Đối chiếu các mục khác nhau với giấy tờ gốc. Dữ liệu chip không bị sửa.",
        "Check the differing fields against the original papers. The chip data is kept as read.",
    ),
    "next.enter_id": (
        "Quét mã QR trên thẻ hoặc nhập số CCCD, rồi chạm thẻ lại.",
        "Scan the QR code on the card or type the ID number, then tap the card again.",
    ),
    # the desk: the reader's state
    "reader.idle": (
        "Sẵn sàng: chạm thẻ CCCD vào đầu đọc hoặc đưa mã QR trước camera",
        "Ready: tap an ID card on the reader or show its QR code to the camera",
    ),
    "reader.armed": ("Đã có số CCCD {id}: hãy chạm thẻ", "ID {id} entered: tap the card now"),
    "reader.reading": ("Đang đọc thẻ... Giữ yên thẻ trên đầu đọc", "Reading the card... Hold it still on the reader"),
    "reader.needs_key": (
        "Chưa mở được chip: cần số CCCD của thẻ này",
        "The chip cannot be opened without the card's ID number",
    ),
    "reader.failed": ("Chưa đọc được thẻ", "The card could not be read"),
    "reader.not_cccd": (
        "Thẻ này không phải thẻ CCCD có chip.",
        "This card is not a chip ID card.",
    ),
    # the desk page (agent/api/static)
    "desk.title": ("Xác thực CCCD tại quầy", "ID card check at the desk"),
    "desk.profile.clinic": ("Khám chữa bệnh BHYT", "Clinic: health insurance"),
    "desk.profile.notary": ("Công chứng, chứng thực", "Notary office"),
    "desk.profile.exam": ("Điểm danh thí sinh", "Exam check-in"),
    "desk.language": ("English", "Tiếng Việt"),
    "desk.waiting": ("Chưa có kết quả nào hôm nay", "No result yet"),
    "desk.full_name": ("Họ và tên", "Full name"),
    "desk.date_of_birth": ("Ngày sinh", "Date of birth"),
    "desk.sex": ("Giới tính", "Sex"),
    "desk.id_number": ("Số CCCD", "ID number"),
    "desk.source": ("Nguồn", "Source"),
    "desk.source.chip": ("Chip trên thẻ", "Card chip"),
    "desk.source.qr": ("Mã QR", "QR code"),
    "desk.source.vneid": ("VNeID", "VNeID"),
    "desk.source.manual": ("Nhập tay", "Typed"),
    "desk.time": ("Thời gian", "Time"),
    "desk.authenticity": ("Xác thực thẻ", "Card authenticity"),
    "desk.badge.genuine": ("Thẻ thật", "Genuine card"),
    "desk.badge.trust_anchor_unknown": ("Chưa xác định được cơ quan ký", "Trust anchor unknown"),
    "desk.badge.failed": ("Thẻ không hợp lệ", "Card failed the check"),
    "desk.badge.not_checked": ("Chưa xác thực chip", "Chip not verified"),
    "desk.offline": ("Ngoại tuyến: dữ liệu lưu lúc {time}", "Offline: saved data from {time}"),
    "desk.entitlement": ("Quyền lợi", "Entitlement"),
    "desk.insurance_card": ("Số thẻ BHYT", "Insurance card"),
    "desk.valid_until": ("Hạn đến", "Valid until"),
    "desk.benefit_level": ("Mức hưởng", "Benefit level"),
    "desk.facility": ("Nơi KCB ban đầu", "First-contact facility"),
    "desk.session": ("Ca thi", "Exam session"),
    "desk.seat": ("Số báo danh", "Candidate number"),
    "desk.next_steps": ("Việc cần làm", "What to do next"),
    "desk.reasons": ("Chi tiết", "Details"),
    "desk.comparison": ("Đối chiếu với thông tin đã nhập", "Compared with what was entered"),
    "desk.entered": ("Đã nhập", "Entered"),
    "desk.on_chip": ("Trên chip", "On the chip"),
    "desk.same": ("Khớp", "Same"),
    "desk.different": ("Khác", "Different"),
    "desk.manual.label": (
        "Số CCCD (12 số) hoặc CMND (9 số)",
        "ID number (12 digits) or old ID (9)",
    ),
    "desk.manual.submit": ("Kiểm tra", "Check"),
    "desk.manual.notary_fields": ("Thông tin theo giấy tờ (để đối chiếu)", "Data from the papers (to compare)"),
    "desk.receipt": ("Tải biên nhận", "Download receipt"),
    "desk.history": ("Lượt gần đây", "Recent checks"),
    "desk.status.reader": ("Đầu đọc", "Reader"),
    "desk.status.camera": ("Camera", "Camera"),
    "desk.status.backend": ("Hệ thống tra cứu", "Lookup service"),
    "desk.status.sync": ("Chờ gửi", "Waiting to send"),
    "desk.status.ok": ("Hoạt động", "Working"),
    "desk.status.none": ("Không có", "None"),
    "desk.status.offline": ("Mất kết nối", "Offline"),
    "desk.status.unknown": ("Chưa rõ", "Unknown"),
    "desk.status.disabled": ("Không dùng", "Not used"),
    "desk.token.prompt": (
        "Nhập mã truy cập của máy trạm (in ra khi khởi động chương trình)",
        "Enter the agent's access token (printed when the agent started)",
    ),
    "desk.token.submit": ("Mở", "Open"),
    "desk.token.wrong": ("Mã truy cập không đúng", "Wrong access token"),
    "desk.connection_lost": (
        "Mất kết nối với chương trình, đang thử lại...",
        "Lost contact with the agent, retrying...",
    ),
    "desk.demo_banner": (
        "CHẾ ĐỘ DEMO: thẻ và hệ thống tra cứu là giả lập",
        "DEMO MODE: simulated cards and backends",
    ),
    "desk.simulator_banner": (
        "Không có pcscd/vpcd: dùng thẻ giả lập ngay trong chương trình",
        "No pcscd/vpcd on this machine: using the in-process card simulator",
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
