"""Keyboard-wedge QR scanners on the desk page, in Debian's headless chromium (Playwright): codes typed at
scanner speed (a few ms a key) wherever the focus is, Enter and Tab in the middle, through a Telex or VNI
input method (its keystrokes, backspaces included, from tests/qr/ime_model.py); the verdict is the webcam
scan's; an operator typing is left alone. Skips locally without chromium, fails in CI."""

from __future__ import annotations

import time
from collections.abc import Iterable

import pytest

from agent.privacy import mask_id
from tests.integration.test_desk_browser import TIMEOUT_MS, TOKEN, browser, page, shot, site  # noqa: F401 - fixtures
from tests.qr.bhyt_samples import bhyt_payload
from tests.qr.ime_model import BACKSPACE, TELEX, VNI, keystrokes

pytestmark = pytest.mark.browser

KEY_GAP_S = 0.003  # a scanner's pace: a few milliseconds a key


def scan(page, keys: Iterable[str], *, enter_at: tuple[int, ...] = (), tab_at: tuple[int, ...] = ()) -> None:  # noqa: F811
    """Type ``keys`` as a wedge scanner does (each a real key event), with Enter and Tab at the given positions.
    A letter no US key types (what an input method composed) goes in as Windows delivers a VK_PACKET key: a
    key event whose key is that letter, sent through the DevTools protocol's own key input."""
    cdp = page.context.new_cdp_session(page)
    try:
        for position, key in enumerate(keys):
            if position in enter_at:
                page.keyboard.press("Enter")
                time.sleep(KEY_GAP_S)
            if position in tab_at:
                page.keyboard.press("Tab")
                time.sleep(KEY_GAP_S)
            if key == BACKSPACE:
                page.keyboard.press("Backspace")
            elif key.isascii():
                page.keyboard.press(key)
            else:
                cdp.send("Input.dispatchKeyEvent", {"type": "keyDown", "key": key, "text": key, "unmodifiedText": key})
                cdp.send("Input.dispatchKeyEvent", {"type": "keyUp", "key": key})
            time.sleep(KEY_GAP_S)
    finally:
        cdp.detach()


# The simulated desk runs in this test process (its webcam loop decodes 10 frames a second), so the GIL
# sometimes holds a key back: on an idle 2-core machine the longest gap between two keys of a scan was 127 ms,
# next to the 150 ms a real desk waits. The tests' desk waits longer, so that the harness never splits a scan
# a scanner sends in one go; the default reaching the page is checked in tests/api/test_qr_inputs_api.py.
TEST_IDLE_MS = 600


def ready(page, site) -> None:  # noqa: F811
    from playwright.sync_api import expect

    site.agent.page_config["wedge_idle_ms"] = TEST_IDLE_MS
    page.goto(f"{site.server.url}/#token={TOKEN}")
    expect(page.locator("#reader-text")).to_contain_text("Sẵn sàng", timeout=TIMEOUT_MS)


def wait_new_result(site, before: str | None, timeout: float = 15.0):  # noqa: F811
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        latest = site.agent.service.latest()
        if latest is not None and latest.result.result_id != before:
            return latest
        time.sleep(0.05)
    raise AssertionError("no new result")


def latest_id(site) -> str | None:  # noqa: F811
    latest = site.agent.service.latest()
    return latest.result.result_id if latest else None


def test_a_wedge_scan_with_enter_and_tab_gives_the_webcams_verdict_wherever_the_focus_is(page, site):  # noqa: F811
    from playwright.sync_api import expect

    ready(page, site)
    text = site.people["expired"].qr_text()
    before = latest_id(site)
    site.camera.show(text)
    webcam = wait_new_result(site, before)
    site.camera.clear()
    assert webcam.result.source == "qr"

    page.locator("#f-name").focus()  # another field has the focus
    before = latest_id(site)
    scan(page, text, enter_at=(20, 61), tab_at=(45,))
    wedge = wait_new_result(site, before)
    assert wedge.result.source == "qr"
    assert (wedge.result.verdict, wedge.result.reasons) == (webcam.result.verdict, webcam.result.reasons)
    assert wedge.result.check is not None and webcam.result.check is not None
    assert wedge.result.check.status == webcam.result.check.status
    expect(page.locator("#verdict-text")).to_have_text("Cần lưu ý", timeout=TIMEOUT_MS)  # the expired card
    expect(page.locator("#source")).to_have_text("Mã QR")
    # nothing of the scan landed in the focused field, Enter submitted nothing, Tab moved nothing
    assert page.locator("#f-name").input_value() == ""
    expect(page.locator("#f-name")).to_be_focused()
    expect(page.locator("#manual-error")).to_be_empty()
    expect(page.locator("#st-scanner")).to_contain_text("bàn phím")


def test_mangled_bhyt_scans_give_the_right_card_and_flag_a_name_they_cannot_recover(page, site):  # noqa: F811
    from playwright.sync_api import expect

    ready(page, site)
    person = site.people["insured"]
    card = site.backends.world.cards[person.id_number]
    text = bhyt_payload(card.card_number, person.full_name, person.date_of_birth, sex=1 if person.sex == "M" else 2,
                        address=person.permanent_residence, valid_from=card.valid_from, valid_to=card.valid_to)
    gateway = site.backends.gateway

    # Telex: recovered exactly; the insurance lookup goes by the card number
    page.locator("#id-input").focus()
    before = latest_id(site)
    scan(page, keystrokes(text, TELEX), enter_at=(100,))
    telex = wait_new_result(site, before)
    assert telex.result.source == "bhyt_qr" and telex.result.identity.bhyt_card == card.card_number
    assert telex.result.identity.full_name == person.full_name
    assert "reason.name_unreliable" not in telex.result.reasons
    assert [c for c in gateway.asked if c["maThe"] == card.card_number]
    expect(page.locator("#source")).to_have_text("Mã QR thẻ BHYT", timeout=TIMEOUT_MS)
    expect(page.locator("#idmasked")).to_have_text(mask_id(card.card_number))
    expect(page.locator("#idmasked-label")).to_have_text("Số thẻ BHYT")
    expect(page.locator("#ent-status")).to_have_text("Thẻ BHYT còn giá trị sử dụng")
    assert page.locator("#id-input").input_value() == ""
    shot(page, "desk-bhyt-wedge.png")

    # VNI: the card number and dates come through, the name cannot be trusted: tap the chip for it
    before = latest_id(site)
    scan(page, keystrokes(text, VNI), tab_at=(150,))
    vni = wait_new_result(site, before)
    assert vni.result.source == "bhyt_qr"
    assert vni.result.identity.bhyt_card in (card.card_number, card.card_number[-10:])
    assert vni.result.identity.date_of_birth == person.date_of_birth
    assert "reason.name_unreliable" in vni.result.reasons
    expect(page.locator("#next-list")).to_contain_text("Chạm thẻ CCCD gắn chip để có họ tên chính xác",
                                                       timeout=TIMEOUT_MS)
    expect(page.locator("#name")).to_have_class("name doubtful")
    shot(page, "desk-bhyt-wedge-vni.png")


def test_an_operator_typing_is_not_a_scanner_and_an_unknown_code_is_said_so(page, site):  # noqa: F811
    from playwright.sync_api import expect

    ready(page, site)
    before = latest_id(site)
    number = site.people["expired"].id_number
    page.locator("#id-input").focus()
    page.keyboard.type(number, delay=90)  # a quick typist: still far slower than a scanner
    assert page.locator("#id-input").input_value() == number
    time.sleep(0.4)
    assert latest_id(site) == before  # nothing was taken for a scan

    page.locator("#id-input").fill("")
    scan(page, "WIFI:S:phong-kham;T:WPA;P:khong-phai-ma-cccd;;")
    expect(page.locator("#scan-error")).to_contain_text("Mã QR không rõ", timeout=TIMEOUT_MS)
    assert latest_id(site) == before


def test_the_serial_scanner_is_shown_live_unplugged_and_back(browser, tmp_path):  # noqa: F811
    """A serial scanner on a pseudo-terminal: the page shows it working, unplugged, and working again."""
    import os
    import sys

    from playwright.sync_api import expect

    from agent.wiring.demo import simulated_site

    if sys.platform == "win32":
        pytest.skip("pseudo-terminals are POSIX")
    link = tmp_path / "ttyACM0"
    master, slave = os.openpty()
    link.symlink_to(os.ttyname(slave))
    config = tmp_path / "site.toml"
    config.write_text(f'[qr]\nserial_port = "{link}"\n', encoding="utf-8")
    try:
        with simulated_site(tmp_path / "desk", token=TOKEN, config=str(config)) as serial_site:
            serial_site.server.start_in_thread()
            context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="vi-VN")
            try:
                desk = context.new_page()
                ready(desk, serial_site)
                status = desk.locator("#st-scanner")
                expect(status).to_contain_text(f"Hoạt động ({link})", timeout=TIMEOUT_MS)
                expect(status).to_have_class("ok")
                os.close(master)
                os.close(slave)
                expect(status).to_contain_text("Không có", timeout=TIMEOUT_MS)
                expect(status).to_have_class("bad")
                master, slave = os.openpty()
                link.unlink()
                link.symlink_to(os.ttyname(slave))
                expect(status).to_contain_text("Hoạt động", timeout=TIMEOUT_MS)
                before = latest_id(serial_site)
                os.write(master, serial_site.people["insured"].qr_text().encode() + b"\r\n")
                expect(desk.locator("#verdict-text")).to_have_text("Hợp lệ", timeout=TIMEOUT_MS)
                assert latest_id(serial_site) != before
            finally:
                context.close()
    finally:
        for fd in (master, slave):
            try:
                os.close(fd)
            except OSError:
                pass


def test_a_cccd_scanned_without_diacritics_through_telex_keeps_the_id_number(page, site):  # noqa: F811
    import unicodedata

    from playwright.sync_api import expect

    ready(page, site)
    person = site.people["insured"]
    folded = unicodedata.normalize("NFD", person.qr_text().replace("đ", "d").replace("Đ", "D"))
    ascii_only = "".join(c for c in folded if not unicodedata.combining(c)).replace("|", "\\")
    before = latest_id(site)
    scan(page, keystrokes(ascii_only, TELEX), enter_at=(30,))
    result = wait_new_result(site, before).result
    assert result.source == "qr" and result.identity.id_number == person.id_number
    assert result.identity.date_of_birth == person.date_of_birth
    assert "reason.name_unreliable" in result.reasons
    expect(page.locator("#next-list")).to_contain_text("họ tên chính xác", timeout=TIMEOUT_MS)
    expect(page.locator("#reader-text")).to_contain_text("hãy chạm thẻ")  # the number still opens the chip
