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
    "error.qr_unknown": (
        "Mã QR không rõ: không phải mã trên thẻ CCCD, mã VNeID hay mã thẻ BHYT.",
        "Unknown QR code: not the code of a CCCD card, a VNeID code or a BHYT card's code.",
    ),
    "error.scanner_unavailable": (
        "Không mở được máy quét mã QR (cổng COM). Kiểm tra cáp USB của máy quét.",
        "The QR scanner (serial port) cannot be opened. Check the scanner's USB cable.",
    ),
    # QR codes (agent.qr, python -m agent qr)
    "qr.kind.cccd": ("Mã QR trên thẻ CCCD / Căn cước", "QR code of a CCCD / Căn cước card"),
    "qr.kind.vneid": ("Mã QR VNeID (cần xác thực với hệ thống)", "VNeID QR code (to be verified by the backend)"),
    "qr.kind.unknown": ("Mã QR không rõ (không phải CCCD, VNeID hay thẻ BHYT)",
                        "Unknown QR code (neither CCCD, VNeID nor a BHYT card)"),
    "qr.kind.bhyt": ("Mã QR trên thẻ BHYT (bảo hiểm y tế)", "QR code of a BHYT health-insurance card"),
    "qr.field.card_number": ("Số thẻ BHYT", "BHYT card number"),
    "qr.field.facility_code": ("Nơi đăng ký KCB ban đầu", "First-contact facility"),
    "qr.field.valid_from": ("Giá trị từ ngày", "Valid from"),
    "qr.field.valid_to": ("Giá trị đến ngày", "Valid to"),
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
    "error.operator_required": (
        "Chưa có cán bộ đăng nhập: hãy đăng nhập trước khi tra cứu.",
        "Nobody is signed in: sign in before looking anyone up.",
    ),
    "error.operator_sign_in": (
        "Không đăng nhập được: sai mã PIN hoặc không có cán bộ này.",
        "Could not sign in: wrong PIN, or no such operator.",
    ),
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
    "error.store_damaged": (
        "Tệp dữ liệu cục bộ bị hỏng: máy trạm không ghi thêm vào đó. Trước hết xuất hàng đợi gửi "
        "(cccd-agent sync --export-outbox TỆP), rồi dời tệp hỏng đi chỗ khác, khởi động lại và nhập lại hàng đợi "
        "(cccd-agent sync --import-outbox TỆP); báo bộ phận hỗ trợ.",
        "The local store is damaged: the agent writes nothing more to it. First export the outbox "
        "(cccd-agent sync --export-outbox FILE), then move the damaged file aside, start again and import the "
        "outbox (cccd-agent sync --import-outbox FILE); tell support.",
    ),
    "error.sync": ("Chưa đồng bộ được dữ liệu.", "The records could not be synchronised yet."),
    "error.invalid_input": ("Thông tin nhập vào không hợp lệ.", "The input is not valid."),
    "error.identity_details_missing": (
        "Tra cứu BHYT cần họ tên và ngày sinh (hoặc năm sinh) như trên thẻ: hãy nhập đủ rồi kiểm tra lại.",
        "The insurance lookup needs the full name and the date of birth (or birth year) as on the card: "
        "enter them and check again.",
    ),
    "error.unauthorized": (
        "Thiếu hoặc sai mã truy cập của máy trạm.",
        "The agent's access token is missing or wrong.",
    ),
    "error.forbidden_origin": (
        "Trang web này không được phép gọi máy trạm.",
        "This web page is not allowed to call the agent.",
    ),
    "error.not_found": ("Không tìm thấy kết quả này.", "No such result."),
    "error.no_such_address": ("Máy trạm không có địa chỉ này.", "The agent has no such address."),
    "error.method_not_allowed": (
        "Địa chỉ này không nhận loại yêu cầu này.",
        "This address does not take this kind of request.",
    ),
    "error.bad_request": ("Yêu cầu gửi tới máy trạm không hợp lệ.", "The request sent to the agent is malformed."),
    "error.request_too_large": ("Yêu cầu gửi tới máy trạm quá lớn.", "The request sent to the agent is too large."),
    "error.request_timeout": (
        "Yêu cầu tới máy trạm không gửi xong kịp thời.",
        "The request to the agent did not arrive in time.",
    ),
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
    "check.insurance.details_missing": (
        "Chưa tra cứu được BHYT: giấy tờ không có đủ họ tên và ngày sinh",
        "Insurance not checked: the document does not give the full name and date of birth",
    ),
    "check.roster.on_roster": ("Có tên trong danh sách ca thi", "On the session roster"),
    "check.roster.not_on_roster": ("Không có tên trong danh sách ca thi", "Not on the session roster"),
    "check.roster.unavailable": ("Chưa kiểm tra được danh sách ca thi lúc này", "Cannot check the roster now"),
    "check.notary.recorded": ("Đã ghi nhận hồ sơ xác thực danh tính", "Identity-verification record kept"),
    "check.from_cache": ("Theo dữ liệu đã lưu, cập nhật lúc {time}", "From cache, as of {time}"),
    "check.insurance.valid_with_warning": ("Thẻ BHYT còn hạn, cần kiểm tra giấy tờ",
                                           "Health-insurance card valid, papers to check"),
    "check.insurance.mismatch": ("Thông tin không khớp với thẻ BHYT", "The details do not match the insurance card"),
    "check.insurance.config_error": ("Không tra cứu được: lỗi tài khoản hoặc cán bộ tra cứu",
                                     "Cannot look up: the account or the staff registration is wrong"),
    # the BHXH gateway's result codes (maKetQua), one message each
    "bhyt.000": ("Thẻ BHYT còn giá trị sử dụng", "Health-insurance card valid"),
    "bhyt.001": ("Thẻ do BHXH Bộ Quốc phòng quản lý: kiểm tra thẻ và giấy tờ tùy thân",
                 "A card of the army's social insurance: check the card and the identity papers"),
    "bhyt.002": ("Thẻ do BHXH Bộ Công an quản lý: kiểm tra thẻ và giấy tờ tùy thân",
                 "A card of the police's social insurance: check the card and the identity papers"),
    "bhyt.003": ("Thẻ cũ đã hết hạn, đã được cấp thẻ mới", "The old card has expired; a new card was issued"),
    "bhyt.004": ("Thẻ cũ còn hạn, đã được cấp thẻ mới", "The old card is still valid; a new card was issued"),
    "bhyt.010": ("Thẻ BHYT hết giá trị sử dụng", "Health-insurance card expired"),
    "bhyt.050": ("Không có thông tin thẻ BHYT", "No health-insurance card on record"),
    "bhyt.051": ("Mã thẻ BHYT không đúng", "Wrong health-insurance card number"),
    "bhyt.052": ("Mã tỉnh trên thẻ (ký tự 4, 5) không đúng", "Wrong province code on the card (characters 4-5)"),
    "bhyt.053": ("Mã quyền lợi trên thẻ (ký tự 3) không đúng", "Wrong benefit code on the card (character 3)"),
    "bhyt.054": ("Số CCCD của cán bộ tra cứu chưa được cơ sở đăng ký với BHXH",
                 "The CCCD number of the staff member looking up is not on the list registered with BHXH"),
    "bhyt.055": ("Họ tên cán bộ tra cứu không khớp với số CCCD đã đăng ký",
                 "The name of the staff member does not match the CCCD number registered"),
    "bhyt.060": ("Họ tên không khớp với thẻ BHYT", "The name does not match the insurance card"),
    "bhyt.061": ("Họ tên không khớp với thẻ BHYT (đúng chữ cái đầu)",
                 "The name does not match the insurance card (the first letter does)"),
    "bhyt.070": ("Ngày sinh không khớp với thẻ BHYT", "The date of birth does not match the insurance card"),
    "bhyt.100": ("Cổng BHXH không đọc được dữ liệu sổ thẻ lúc này",
                 "The BHXH gateway cannot read the card records now"),
    "bhyt.101": ("Cổng BHXH đang lỗi", "The BHXH gateway has a server error"),
    "bhyt.110": ("Thẻ BHYT đã bị thu hồi", "The insurance card has been withdrawn"),
    "bhyt.120": ("Thẻ BHYT đã báo giảm", "The insurance card has been reported as ended"),
    "bhyt.121": ("Thẻ đã báo giảm: chuyển ngoại tỉnh", "The card has ended: moved to another province"),
    "bhyt.122": ("Thẻ đã báo giảm: chuyển nội tỉnh", "The card has ended: moved within the province"),
    "bhyt.123": ("Thẻ đã báo giảm: tăng lại cùng đơn vị", "The card has ended: re-registered with the same employer"),
    "bhyt.124": ("Thẻ đã báo giảm: ngừng tham gia", "The card has ended: stopped taking part"),
    "bhyt.130": ("Trẻ em không xuất trình thẻ BHYT", "A child who brought no insurance card"),
    "bhyt.205": ("Yêu cầu tra cứu sai định dạng", "The lookup was sent in a wrong format"),
    "bhyt.401": ("Cổng BHXH từ chối tài khoản của cơ sở", "The BHXH gateway refused the facility's account"),
    "bhyt.500": ("Cổng BHXH đang lỗi hệ thống", "The BHXH gateway has a system error"),
    "bhyt.unknown": ("Cổng BHXH trả mã kết quả chưa biết",
                     "The BHXH gateway gave a result code this agent does not know"),
    "verify.delivered": ("Đã gửi lên hệ thống.", "Sent to the backend."),
    "verify.queued": ("Đã lưu, sẽ gửi khi có mạng.", "Saved; it will be sent when the network is back."),
    "sync.status": (
        "Chờ gửi: {pending}, đã gửi: {sent}, bị từ chối: {failed}",
        "Pending: {pending}, sent: {sent}, refused: {failed}",
    ),
    "sync.last_error": ("Lỗi gần nhất ({time}): {error}", "Last error ({time}): {error}"),
    "sync.parked": (
        "Tạm gác {parked} bản ghi mà hệ thống liên tục báo lỗi (các bản ghi khác vẫn được gửi). Khi đã khắc phục: "
        "cccd-agent sync --retry-parked",
        "{parked} records set aside: the backend kept failing on them while it took the others. Once fixed: "
        "cccd-agent sync --retry-parked",
    ),
    "sync.requeued": ("Đã đưa lại {count} bản ghi vào hàng đợi gửi.", "{count} records are queued again."),
    "sync.exported": (
        "Đã xuất {count} bản ghi chờ gửi ra {path} (vẫn mã hóa bằng khóa của kho); "
        "{unreadable} bản ghi không đọc được.",
        "Exported {count} records still to send to {path} (still sealed under the store key); {unreadable} "
        "could not be read.",
    ),
    "sync.imported": (
        "Đã nhập {added} bản ghi vào hàng đợi gửi ({skipped} đã có sẵn).",
        "Queued {added} imported records ({skipped} were already there).",
    ),
    "desk.status.parked": ("tạm gác", "set aside"),
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
    "reason.bhyt_qr": (
        "Mã QR thẻ BHYT: thông tin thẻ bảo hiểm, không phải giấy tờ tùy thân",
        "BHYT card QR code: the insurance card's details, not an identity document",
    ),
    "reason.bhyt_not_identity": (
        "Thẻ BHYT không dùng để xác định danh tính tại quầy này",
        "A BHYT card does not identify the holder at this desk",
    ),
    "reason.name_unreliable": (
        "Họ tên từ máy quét có thể sai (bộ gõ tiếng Việt, hoặc máy quét gõ không dấu)",
        "The name from the scanner may be wrong (a Vietnamese input method, or a scanner typing without diacritics)",
    ),
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
    "next.tap_chip_for_name": (
        "Chạm thẻ CCCD gắn chip để có họ tên chính xác.",
        "Tap the chip ID card for the exact name.",
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
    "next.type_identity_details": (
        "Nhập số CCCD, họ tên và ngày sinh của người bệnh để tra cứu",
        "Type the patient's ID number, full name and date of birth to look them up",
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
    "next.insurance_mismatch": (
        "Đối chiếu họ tên và ngày sinh với giấy tờ, sửa lại rồi tra cứu lại.",
        "Check the name and date of birth against the papers, correct them and look up again.",
    ),
    "next.call_technician": (
        "Báo bộ phận kỹ thuật: tài khoản hoặc cấu hình tra cứu BHYT cần sửa.",
        "Tell IT: the insurance lookup's account or settings need fixing.",
    ),
    "next.bhyt_check_papers": (
        "Kiểm tra thẻ BHYT và giấy tờ tùy thân trước khi tiếp nhận.",
        "Check the insurance card and the identity papers before registering the patient.",
    ),
    "next.bhyt_new_card": (
        "Dùng thông tin thẻ BHYT mới hiển thị bên dưới.",
        "Use the new insurance card shown below.",
    ),
    "next.bhyt_check_card_number": (
        "Kiểm tra lại mã thẻ BHYT (15 ký tự) hoặc số CCCD.",
        "Check the insurance card number (15 characters) or the ID number again.",
    ),
    "next.bhyt_register_staff": (
        "Cán bộ tra cứu phải có trong danh sách cơ sở đã đăng ký với BHXH: báo bộ phận kỹ thuật.",
        "The staff member must be on the list the facility registered with BHXH: tell IT.",
    ),
    "next.bhyt_check_name": (
        "Hỏi lại họ tên đầy đủ, có dấu, như trên thẻ.",
        "Ask for the full name again, with its diacritics, as on the card.",
    ),
    "next.bhyt_check_birth_date": (
        "Hỏi lại ngày sinh (hoặc năm sinh) như trên thẻ.",
        "Ask for the date of birth (or the year) again, as on the card.",
    ),
    "next.bhyt_card_reduced": (
        "Thẻ không dùng được: hướng dẫn người bệnh liên hệ BHXH; tiếp nhận như khám dịch vụ.",
        "The card cannot be used: tell the patient to contact social insurance; register as a paying patient.",
    ),
    "next.bhyt_child_papers": (
        "Trẻ em: kiểm tra giấy khai sinh hoặc giấy chứng sinh.",
        "A child: check the birth certificate.",
    ),
    "next.bhyt_check_account": (
        "Báo bộ phận kỹ thuật kiểm tra tài khoản cổng BHXH của cơ sở.",
        "Tell IT to check the facility's BHXH gateway account.",
    ),
    "next.sign_in": (
        "Chọn tên cán bộ (và nhập mã PIN) để đăng nhập trước khi tra cứu.",
        "Choose your name (and enter your PIN) to sign in before looking anyone up.",
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
    "desk.checking": ("Đang kiểm tra thẻ và quyền lợi…", "Checking the card and the entitlement…"),
    "desk.full_name": ("Họ và tên", "Full name"),
    "desk.date_of_birth": ("Ngày sinh", "Date of birth"),
    "desk.sex": ("Giới tính", "Sex"),
    "desk.id_number": ("Số CCCD", "ID number"),
    "desk.source": ("Nguồn", "Source"),
    "desk.source.chip": ("Chip trên thẻ", "Card chip"),
    "desk.source.qr": ("Mã QR", "QR code"),
    "desk.source.vneid": ("VNeID", "VNeID"),
    "desk.source.manual": ("Nhập tay", "Typed"),
    "desk.source.bhyt_qr": ("Mã QR thẻ BHYT", "BHYT card QR code"),
    "desk.bhyt_card": ("Số thẻ BHYT", "BHYT card number"),
    "desk.status.scanner": ("Máy quét", "Scanner"),
    "desk.status.keyboard": ("bàn phím", "keyboard"),
    "desk.scan_failed": ("Không dùng được mã vừa quét", "The code just scanned cannot be used"),
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
    "desk.validity": ("Giá trị thẻ", "Card valid"),
    "desk.five_year": ("Đủ 5 năm liên tục từ", "5 continuous years from"),
    "desk.new_card": ("Thẻ mới", "New card"),
    "desk.area_code": ("Mã nơi sinh sống", "Living-area code"),
    "desk.gateway_message": ("Thông báo của BHXH", "Social insurance says"),
    "desk.operator": ("Cán bộ", "Operator"),
    "desk.operator.none": ("Chưa đăng nhập", "Nobody signed in"),
    "desk.sign_in": ("Đăng nhập", "Sign in"),
    "desk.sign_out": ("Đăng xuất", "Sign out"),
    "desk.sign_in.title": ("Cán bộ tiếp đón đăng nhập", "Operator sign-in"),
    "desk.sign_in.choose": ("Chọn tên của bạn", "Choose your name"),
    "desk.sign_in.pin": ("Mã PIN", "PIN"),
    "desk.manual.identity_fields": ("Họ tên và ngày sinh (cổng BHXH cần để tra cứu)",
                                    "Name and date of birth (the BHXH gateway needs them)"),
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
        "Số CCCD (12 số), CMND (9 số) hoặc số thẻ BHYT",
        "ID number (12 digits), old ID (9) or BHYT card number",
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
    # cccd-agent doctor (agent.doctor): what each line is about, then what to do about it
    "doctor.fix_label": ("Cách khắc phục", "Fix"),
    "doctor.summary": ("Kết quả: {ok} đạt, {warning} cảnh báo, {fail} lỗi.",
                       "Result: {ok} ok, {warning} warnings, {fail} failures."),
    "doctor.item.versions": ("Phiên bản", "Versions"),
    "doctor.item.settings": ("Cấu hình", "Settings"),
    "doctor.item.locations": ("Nơi lưu dữ liệu", "Data locations"),
    "doctor.item.log": ("Tệp nhật ký", "Log file"),
    "doctor.item.agent": ("Dịch vụ máy trạm", "Desk agent service"),
    "doctor.item.pcsc.service": ("Dịch vụ thẻ thông minh (PC/SC)", "Smart-card service (PC/SC)"),
    "doctor.item.pcsc.readers": ("Đầu đọc thẻ", "Card readers"),
    "doctor.item.pcsc.card": ("Thẻ trên đầu đọc", "Card on the reader"),
    "doctor.item.camera": ("Camera quét mã QR", "QR camera"),
    "doctor.item.scanners": ("Máy quét mã QR", "QR scanners"),
    "doctor.item.trust.cscas": ("Chứng chỉ CSCA tin cậy", "Trusted CSCA certificates"),
    "doctor.item.trust.expiry": ("Hạn chứng chỉ CSCA", "CSCA expiry"),
    "doctor.item.trust.master_lists": ("Danh sách master list", "Master lists"),
    "doctor.item.trust.files": ("Tệp trong kho tin cậy", "Trust store files"),
    "doctor.item.backend.insurance": ("Hệ thống bảo hiểm y tế", "Insurance backend"),
    "doctor.item.backend.licensing": ("Hệ thống sát hạch / công chứng", "Licensing backend"),
    "doctor.item.backend.clock": ("Đồng hồ máy tính", "PC clock"),
    "doctor.item.keys.store": ("Khóa mã hóa dữ liệu", "Store key"),
    "doctor.item.keys.receipt": ("Khóa ký biên nhận", "Receipt signing key"),
    "doctor.item.store.integrity": ("Cơ sở dữ liệu cục bộ", "Local store"),
    "doctor.item.store.outbox": ("Hồ sơ chờ gửi", "Outbox"),
    "doctor.item.audit": ("Nhật ký kiểm toán", "Audit log"),
    "doctor.fix.settings": (
        "Sửa tệp cấu hình được nêu trong thông báo (xem 'cccd-agent config').",
        "Fix the settings file named in the message (see 'cccd-agent config').",
    ),
    "doctor.fix.report_bug": (
        "Lỗi trong phần mềm: gửi kết quả 'cccd-agent doctor --json' và tệp nhật ký cho bộ phận hỗ trợ.",
        "A fault in the agent: send the output of 'cccd-agent doctor --json' and the log file to support.",
    ),
    "doctor.fix.data_unwritable": (
        "Cấp quyền ghi thư mục dữ liệu cho tài khoản chạy phần mềm, hoặc đặt [store] path ở thư mục khác.",
        "Let the agent's account write the data folder, or set [store] path to another folder.",
    ),
    "doctor.fix.log_unwritable": (
        "Cấp quyền ghi thư mục nhật ký, hoặc đặt [log] file ở thư mục ghi được.",
        "Let the agent's account write the log folder, or set [log] file to a writable place.",
    ),
    "doctor.fix.agent_not_running": (
        "Khởi động dịch vụ: Windows 'sc start cccd-agent' (hoặc Services); Linux 'systemctl start cccd-agent'.",
        "Start the service: Windows 'sc start cccd-agent' (or Services); Linux 'systemctl start cccd-agent'.",
    ),
    "doctor.fix.pcsc_service": (
        "Linux: 'sudo systemctl enable --now pcscd.socket' (cài gói pcscd nếu chưa có). Windows: cắm đầu đọc, "
        "dịch vụ 'Smart Card' (SCardSvr) sẽ tự chạy; nếu không, bật nó trong Services.",
        "Linux: 'sudo systemctl enable --now pcscd.socket' (install the pcscd package if missing). Windows: "
        "plug the reader in and the 'Smart Card' service (SCardSvr) starts; if not, start it in Services.",
    ),
    "doctor.fix.no_reader": (
        "Cắm đầu đọc vào cổng USB, đợi vài giây; nếu vẫn không thấy, cài driver CCID của hãng đầu đọc.",
        "Plug the reader into a USB port and wait a few seconds; if it still is not seen, install its CCID driver.",
    ),
    "doctor.fix.reader_name": (
        "Sửa [reader] name cho khớp tên đầu đọc đang cắm (xem 'cccd-agent readers'), hoặc để trống.",
        "Set [reader] name to part of a connected reader's name (see 'cccd-agent readers'), or leave it empty.",
    ),
    "doctor.fix.card_mute": (
        "Nhấc thẻ ra, đặt lại giữa đầu đọc và giữ yên; nếu vẫn lỗi, thử thẻ khác để biết lỗi do thẻ hay đầu đọc.",
        "Lift the card, put it back in the middle of the reader and hold it still; try another card to tell a "
        "bad card from a bad reader.",
    ),
    "doctor.fix.no_card": (
        "Đặt một thẻ CCCD lên đầu đọc rồi chạy lại 'cccd-agent doctor' để kiểm tra đầu đọc nhận thẻ.",
        "Put a CCCD card on the reader and run 'cccd-agent doctor' again to check the reader sees cards.",
    ),
    "doctor.fix.camera": (
        "Kiểm tra cáp camera, đóng chương trình khác đang dùng camera, hoặc sửa [qr] camera (số thứ tự camera).",
        "Check the camera's cable, close any other program using it, or fix [qr] camera (the camera's number).",
    ),
    "doctor.fix.scanner_untested": (
        "Quét thử một mã QR trên trang bàn tiếp đón để kiểm tra máy quét.",
        "Scan a QR code at the desk page to test the scanner.",
    ),
    "doctor.fix.scanner": (
        "Kiểm tra cáp USB của máy quét, đóng chương trình khác đang dùng cổng, hoặc sửa [qr] serial_port "
        "(COM3, /dev/ttyACM0) và serial_baud cho đúng máy quét.",
        "Check the scanner's USB cable, close any other program using the port, or fix [qr] serial_port "
        "(COM3, /dev/ttyACM0) and serial_baud to match the scanner.",
    ),
    "doctor.fix.trust_missing": (
        "Nhập chứng chỉ CSCA hoặc master list của Bộ Công an: 'cccd-agent trust import TỆP'.",
        "Import the CSCA certificates or master list: 'cccd-agent trust import FILE'.",
    ),
    "doctor.fix.trust_expiring": (
        "Lấy chứng chỉ CSCA mới (hoặc master list mới) và nhập: 'cccd-agent trust import TỆP'.",
        "Get the new CSCA certificate (or a new master list) and import it: 'cccd-agent trust import FILE'.",
    ),
    "doctor.fix.master_list": (
        "Nhập trước chứng chỉ CSCA đã ký master list, hoặc tải lại master list từ nơi phát hành.",
        "Import the CSCA that signed the master list first, or get the master list again from its publisher.",
    ),
    "doctor.fix.trust_files": (
        "Xem 'cccd-agent trust list'; xóa hoặc thay các tệp không dùng được, cập nhật CRL đã cũ.",
        "See 'cccd-agent trust list'; remove or replace the files that cannot be used, renew outdated CRLs.",
    ),
    "doctor.fix.backend_url": (
        "Kiểm tra địa chỉ hệ thống trong [backends] (insurance_url, licensing_url) với đơn vị quản lý.",
        "Check the backend addresses in [backends] (insurance_url, licensing_url) with the site's IT.",
    ),
    "doctor.fix.backend_unreachable": (
        "Kiểm tra mạng và tường lửa của máy, và địa chỉ trong [backends]; hệ thống có thể đang bảo trì. Trong lúc "
        "đó máy trạm vẫn làm việc và gửi lại hồ sơ khi có mạng.",
        "Check the PC's network and firewall and the address in [backends]; the backend may be down. Meanwhile "
        "the desk keeps working and sends the records when the link is back.",
    ),
    "doctor.fix.backend_login": (
        "Kiểm tra tài khoản / mã truy cập hệ thống ([backends] token hoặc tài khoản BHXH) với đơn vị quản lý.",
        "Check the backend credentials ([backends] token, or the BHXH account) with the site's IT.",
    ),
    "doctor.fix.clock": (
        "Chỉnh giờ máy tính: Windows: Settings > Time & language > Sync now; Linux: 'timedatectl set-ntp true'.",
        "Set the PC's clock: Windows: Settings > Time & language > Sync now; Linux: 'timedatectl set-ntp true'.",
    ),
    "doctor.fix.clock_unknown": (
        "Không kiểm tra được giờ vì không hệ thống nào trả lời; sửa kết nối hệ thống trước.",
        "The clock could not be checked because no backend answered: fix the backend link first.",
    ),
    "doctor.fix.key_unreadable": (
        "Khôi phục tệp khóa từ bản sao lưu; Linux: chỉ tài khoản chạy phần mềm được đọc ('chmod 600').",
        "Restore the key from its backup; on Linux only the agent's account may read it ('chmod 600').",
    ),
    "doctor.fix.key_missing": (
        "Khôi phục khóa từ bản sao lưu (tệp khóa hoặc Windows Credential Manager); khóa mới không mở được "
        "dữ liệu cũ.",
        "Restore the key from its backup (the key file, or Windows Credential Manager); a new key cannot open "
        "the existing records.",
    ),
    "doctor.fix.key_file_left": (
        "Khóa đã (hoặc sẽ) được chép vào Windows Credential Manager. Sau khi sao lưu tệp khóa ra nơi an toàn "
        "(ngoài máy), hãy xóa tệp đó.",
        "The key is (or will be) copied into Windows Credential Manager. Once the key file is backed up somewhere "
        "safe (off this PC), delete it.",
    ),
    "doctor.fix.key_file_windows": (
        "Trên Windows nên giữ khóa trong Credential Manager: đặt [store] key_source = \"auto\"; hoặc chỉ cho tài "
        "khoản dịch vụ quyền đọc thư mục khóa (icacls).",
        "On Windows keep the key in Credential Manager: set [store] key_source = \"auto\"; or let only the "
        "service's account read the key's folder (icacls).",
    ),
    "doctor.fix.store": (
        "Kiểm tra ổ đĩa và quyền ghi thư mục dữ liệu; xem tệp nhật ký.",
        "Check the disk and the data folder's permissions; see the log file.",
    ),
    "doctor.fix.store_locked": (
        "Một chương trình khác đang giữ cơ sở dữ liệu; thử lại sau giây lát.",
        "Another program holds the store; try again in a moment.",
    ),
    "doctor.fix.store_corrupt": (
        "Dừng dịch vụ, giữ một bản sao tệp dữ liệu và khóa, rồi khôi phục từ bản sao lưu; báo bộ phận hỗ trợ.",
        "Stop the service, keep a copy of the store and its key, restore from backup, and tell support.",
    ),
    "doctor.fix.store_newer": (
        "Dữ liệu do phiên bản mới hơn tạo ra: cài lại phiên bản mới đó (không hạ cấp được).",
        "The store was written by a newer agent: install that version again (downgrades cannot open it).",
    ),
    "doctor.fix.outbox_refused": (
        "Xem 'cccd-agent sync --status' để biết lý do hệ thống từ chối, và báo đơn vị quản lý hệ thống.",
        "See 'cccd-agent sync --status' for why the backend refused them, and tell the backend's operators.",
    ),
    "doctor.fix.outbox_stuck": (
        "Hồ sơ chờ quá lâu: sửa kết nối hệ thống (xem các dòng trên), rồi chạy 'cccd-agent sync --once'.",
        "Records have waited too long: fix the backend link (see above), then run 'cccd-agent sync --once'.",
    ),
    "doctor.fix.audit_broken": (
        "Không sửa tệp: giữ nguyên làm bằng chứng, sao lưu và báo người phụ trách an ninh của đơn vị.",
        "Do not edit the file: keep it as evidence, back it up and tell the site's security officer.",
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
