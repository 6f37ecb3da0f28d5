"""The desk page in a real browser: Debian's headless chromium driven by Playwright (never a browser
Playwright downloads). A simulated card tapped on the simulated reader shows the citizen as verified,
a tampered card shows the failure and what to do; the page works from the keyboard and in English.
Screenshots are kept under artifacts/ (gitignored). Skips locally without chromium, fails in CI."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from agent.wiring.demo import simulated_site

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
TOKEN = "browser-test-token"
TIMEOUT_MS = 15_000


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def unavailable(what: str) -> None:
    if in_ci():
        pytest.fail(f"browser test cannot run: {what} (CI is set, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(f"browser test cannot run: {what}")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        unavailable(f"Debian's chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright Python package is not installed")
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    with sync_playwright() as playwright:
        executable = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def site(tmp_path):
    with simulated_site(tmp_path, token=TOKEN) as running:
        running.server.start_in_thread()
        yield running


@pytest.fixture
def page(browser, site):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="vi-VN")
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert errors == [], errors


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def type_manual_entry(page, number: str, full_name: str, born: date) -> None:
    """The operator types a number, a name and a birth date into the manual entry and presses Enter."""
    page.locator("#id-input").fill(number)
    page.locator("#f-name").fill(full_name)
    page.locator("#f-dob").fill(born.strftime("%d/%m/%Y"))
    page.locator("#id-input").focus()
    page.keyboard.press("Enter")


def test_tap_shows_the_citizen_verified_and_a_tampered_card_as_failed(page, site):
    from playwright.sync_api import expect

    page.goto(f"{site.server.url}/#token={TOKEN}")
    expect(page.locator("#reader-text")).to_contain_text("Sẵn sàng", timeout=TIMEOUT_MS)
    assert "token" not in page.url  # the token left the address bar

    insured = site.people["insured"]
    site.tap("insured")
    expect(page.locator("#verdict-text")).to_have_text("Hợp lệ", timeout=TIMEOUT_MS)
    expect(page.locator("#name")).to_have_text(insured.full_name)
    expect(page.locator("#idmasked")).to_have_text(insured.id_number[:3] + "*" * 7 + insured.id_number[-2:])
    expect(page.locator("#dob")).to_have_text(insured.date_of_birth.strftime("%d/%m/%Y"))
    expect(page.locator("#badge")).to_have_text("Thẻ thật")
    expect(page.locator("#ent-status")).to_have_text("Thẻ BHYT còn giá trị sử dụng")  # the gateway's 000
    expect(page.locator("#ent-facts")).to_contain_text("Giá trị thẻ")
    assert page.locator("#face").get_attribute("src").startswith("data:image/jpeg;base64,")
    assert page.locator("#face").evaluate("img => img.naturalWidth") > 0  # the DG2 face decodes
    assert insured.id_number not in page.locator("body").inner_text()  # only the masked number is shown
    shot(page, "desk-verified.png")

    page.keyboard.press("Alt+L")
    expect(page.locator("#verdict-text")).to_have_text("Verified")
    expect(page.locator("#badge")).to_have_text("Genuine card")
    shot(page, "desk-verified-en.png")
    page.locator("#lang").click()
    expect(page.locator("#verdict-text")).to_have_text("Hợp lệ")

    site.tap("tampered")
    expect(page.locator("#verdict-text")).to_have_text("Không hợp lệ", timeout=TIMEOUT_MS)
    expect(page.locator("#badge")).to_have_text("Thẻ không hợp lệ")
    expect(page.locator("#badge-reason")).to_have_text("Dữ liệu trên chip đã bị thay đổi hoặc chữ ký số không hợp lệ")
    expect(page.locator("#next-list")).to_contain_text("Không chấp nhận thẻ này")
    expect(page.locator("#reasons")).to_contain_text("Dữ liệu trên chip đã bị thay đổi")
    expect(page.locator("#history li").first).to_have_class("history-rejected")
    shot(page, "desk-tampered.png")


def test_failed_read_and_offline_answer_are_explained(page, site):
    from playwright.sync_api import expect

    page.goto(f"{site.server.url}/#token={TOKEN}")
    expect(page.locator("#reader-text")).to_contain_text("Sẵn sàng", timeout=TIMEOUT_MS)
    site.tap("insured")
    expect(page.locator("#verdict-text")).to_have_text("Hợp lệ", timeout=TIMEOUT_MS)

    site.backends.set_faults(down=True)
    site.tap("insured")
    expect(page.locator("#offline")).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.locator("#offline")).to_contain_text("Ngoại tuyến")

    # a card tapped with no ID number known: the page says what to do
    site.agent.service._hint = None
    site.tap("expired", arm=False)
    expect(page.locator("#reader")).to_have_class("reader reader-needs_key", timeout=TIMEOUT_MS)
    expect(page.locator("#reader-text")).to_contain_text("cần số CCCD")
    expect(page.locator("#reader-next")).to_contain_text("Quét mã QR trên thẻ hoặc nhập số CCCD")
    shot(page, "desk-offline-needs-key.png")


def test_a_parked_record_is_shown_until_it_is_offered_again(page, site):
    """A record a backend kept refusing is parked: the page's sync item turns red and says so."""
    from playwright.sync_api import expect

    from sync.outbox import OutboundEvent

    page.goto(f"{site.server.url}/#token={TOKEN}")
    expect(page.locator("#reader-text")).to_contain_text("Sẵn sàng", timeout=TIMEOUT_MS)
    site.backends.set_faults(down=True)  # nothing is delivered while the record is parked
    outbox = site.agent.store.outbox
    outbox.enqueue([OutboundEvent("result-parked-1", "licensing", {"event_id": "result-parked-1"})])
    outbox.park(["result-parked-1"], "HTTP 500")
    sync_item = page.locator("#st-sync")
    expect(sync_item).to_contain_text("tạm gác 1", timeout=TIMEOUT_MS)
    expect(sync_item).to_have_class("bad")

    assert outbox.requeue_parked() == 1
    expect(sync_item).not_to_contain_text("tạm gác", timeout=TIMEOUT_MS)
    expect(sync_item).to_have_class("warn")


def test_keyboard_entry_and_the_token_prompt(browser, site):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    try:
        page.goto(site.server.url + "/")
        dialog = page.locator("#token-dialog")
        expect(dialog).to_be_visible(timeout=TIMEOUT_MS)
        page.locator("#token-input").fill("wrong-token")
        page.keyboard.press("Enter")
        expect(page.locator("#token-error")).to_contain_text("Wrong access token", timeout=TIMEOUT_MS)
        page.locator("#token-input").fill(TOKEN)
        page.keyboard.press("Enter")
        expect(page.locator("#reader-text")).to_contain_text("Sẵn sàng", timeout=TIMEOUT_MS)

        page.keyboard.press("F2")
        expect(page.locator("#id-input")).to_be_focused()
        page.keyboard.type("12345")
        page.keyboard.press("Enter")
        expect(page.locator("#manual-error")).not_to_be_empty()
        expired = site.people["expired"]
        page.locator("#id-input").fill(expired.id_number)
        page.keyboard.press("Enter")  # the BHXH gateway needs the name and the date of birth too
        expect(page.locator("#manual-error")).to_contain_text("cần họ tên và ngày sinh", timeout=TIMEOUT_MS)
        type_manual_entry(page, expired.id_number, expired.full_name, expired.date_of_birth)
        expect(page.locator("#verdict-text")).to_have_text("Cần lưu ý", timeout=TIMEOUT_MS)
        expect(page.locator("#source")).to_have_text("Nhập tay")
        expect(page.locator("#next-list")).to_contain_text("gia hạn")
        expect(page.locator("#reader-text")).to_contain_text("hãy chạm thẻ")  # the typed number opens the chip
    finally:
        context.close()


def test_the_gateways_answer_and_the_signed_in_operator(browser, tmp_path):
    """Two operators, one with a PIN: the page asks who is at the desk, refuses a wrong PIN, shows who
    is signed in; a card the gateway knows as replaced shows its validity, five-year date, new card and
    the gateway's own words; a slow gateway shows the identity as "checking" before the verdict."""
    import threading

    from playwright.sync_api import expect

    from agent.operators import hash_pin
    from simulators.backends.gateway import DEFAULT_STAFF, NOTES

    (first_cccd, first_name), (second_cccd, second_name) = list(DEFAULT_STAFF.items())[:2]
    operators = tmp_path / "operators.toml"
    operators.write_text(f'[[operator]]\nname = "{first_name}"\ncccd = "{first_cccd}"\n\n'
                         f'[[operator]]\nname = "{second_name}"\ncccd = "{second_cccd}"\n'
                         f'pin_hash = "{hash_pin("2468")}"\n', encoding="utf-8")
    with simulated_site(tmp_path / "desk", token=TOKEN, operators_file=operators) as site:
        site.server.start_in_thread()
        context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="vi-VN")
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        try:
            page.goto(f"{site.server.url}/#token={TOKEN}")
            dialog = page.locator("#sign-in-dialog")
            expect(dialog).to_be_visible(timeout=TIMEOUT_MS)  # nobody is signed in: who are you?
            expect(page.locator("#operator-name")).to_have_text("Chưa đăng nhập")
            page.locator("#sign-in-who").select_option(label=second_name)
            expect(page.locator("#sign-in-pin")).to_be_visible()
            page.locator("#sign-in-pin").fill("1111")
            page.keyboard.press("Enter")
            expect(page.locator("#sign-in-error")).not_to_be_empty(timeout=TIMEOUT_MS)
            page.locator("#sign-in-pin").fill("2468")
            page.keyboard.press("Enter")
            expect(dialog).to_be_hidden(timeout=TIMEOUT_MS)
            expect(page.locator("#operator-name")).to_have_text(second_name)

            # a card replaced by a new one that covers today (maKetQua 004), looked up by typing
            gateway = site.backends.gateway
            number = gateway.ids_with_code("004")[0]
            person = site.backends.world.citizens[number]
            type_manual_entry(page, number, person.full_name, person.date_of_birth)
            expect(page.locator("#ent-facts")).to_contain_text("Thẻ mới", timeout=TIMEOUT_MS)
            facts = page.locator("#ent-facts")
            expect(facts).to_contain_text("Giá trị thẻ")
            expect(facts).to_contain_text("Đủ 5 năm liên tục từ")
            expect(facts).to_contain_text("Thông báo của BHXH")
            expect(facts).to_contain_text(NOTES["004"])  # the gateway's ghiChu, verbatim
            expect(facts).to_contain_text(site.backends.world.cards[number].card_number[3:])  # the new card
            expect(page.locator("#verdict-text")).to_have_text("Hợp lệ")  # the new card covers today
            [call] = [c for c in gateway.asked if c["maThe"] == number]
            assert (call["hoTenCb"], call["cccdCb"]) == (second_name, second_cccd)  # who looked it up
            shot(page, "desk-gateway-new-card.png")

            # a patient with no CCCD whose BHYT code will not scan: the card's number typed as printed
            patient_id = gateway.ids_with_code("000")[0]
            patient = site.backends.world.citizens[patient_id]
            card = site.backends.world.cards[patient_id].card_number
            type_manual_entry(page, f"{card[:2].lower()} {card[2]} {card[3:5]} {card[5:]}", patient.full_name,
                              patient.date_of_birth)
            expect(page.locator("#verdict-text")).to_have_text("Hợp lệ", timeout=TIMEOUT_MS)
            expect(page.locator("#idmasked-label")).to_have_text("Số thẻ BHYT")
            expect(page.locator("#idmasked")).to_have_text(card[:3] + "*" * 10 + card[-2:])
            assert [c["maThe"] for c in gateway.asked][-1] == card

            # a slow gateway: the card's identity shows as being checked, then the verdict
            site.backends.set_faults(latency_ms=1500)
            insured = site.people["insured"]
            tapping = threading.Thread(target=site.tap, args=("insured",), kwargs={"timeout": 30})
            tapping.start()
            expect(page.locator("#verdict-text")).to_have_text("Đang kiểm tra thẻ và quyền lợi…", timeout=TIMEOUT_MS)
            expect(page.locator("#name")).to_have_text(insured.full_name)
            shot(page, "desk-checking.png")
            expect(page.locator("#verdict-text")).to_have_text("Hợp lệ", timeout=TIMEOUT_MS)
            tapping.join(30)
            site.backends.clear_faults()

            page.locator("#sign-out").click()
            expect(dialog).to_be_visible(timeout=TIMEOUT_MS)
        finally:
            context.close()
        assert errors == [], errors
