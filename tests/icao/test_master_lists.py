"""CSCA master lists (Doc 9303-12 §8) as issue 12 item 5 wants them: one rule for a certificate whose
issuer is not loaded, issuers resolved across every loaded list and the trust directory, each list's
signer checked against the roots of the trust directory; on a generated PKI and on the real German and
Dutch master lists."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.icao import pki
from agent.icao.passive_auth import check_chain
from agent.icao.trust import check_master_list, parse_master_list, read_master_list
from agent.models import Status
from agent.trust_files import load_trust_directory
from tests.icao import pki_fixtures as f
from tests.icao import realdata


class Countries:
    """Two countries. X renewed its CSCA key (X2, linked from X1 by a link certificate) and issued an
    ordinary CSCA (XB) under X1; Y publishes a list holding X1. The list of X does not hold X1."""

    def __init__(self) -> None:
        self.x1_key = f.private_key("p256", "x1")
        self.x_name = f.name("CSCA X", "XA")
        self.x1 = f.make_certificate(self.x1_key, self.x_name, self.x1_key, self.x_name, ca=True)
        self.x2_key = f.private_key("p256", "x2")
        self.x2 = f.make_certificate(self.x2_key, self.x_name, self.x2_key, self.x_name, ca=True)
        self.link = f.make_certificate(self.x2_key, self.x_name, self.x1_key, self.x_name, ca=True)  # X2 by X1
        self.xb_key = f.private_key("p256", "xb")
        self.xb = f.make_certificate(self.xb_key, f.name("CSCA X-B", "XA"), self.x1_key, self.x_name, ca=True)
        # X's list signer, certified by X2 (in X's list)
        self.x_signer_key = f.private_key("p256", "x-signer")
        self.x_signer = f.make_certificate(self.x_signer_key, f.name("ML Signer X", "XA"), self.x2_key, self.x_name,
                                           ca=False)  # fmt: skip
        self.y_key = f.private_key("rsa2048", "y-root")
        self.y_name = f.name("CSCA Y", "YA")
        self.y = f.make_certificate(self.y_key, self.y_name, self.y_key, self.y_name, ca=True)
        self.y_signer_key = f.private_key("p256", "y-signer")
        self.y_signer = f.make_certificate(self.y_signer_key, f.name("ML Signer Y", "YA"), self.y_key, self.y_name,
                                           ca=False)  # fmt: skip
        self.x_list = f.make_master_list([self.x2, self.link, self.xb], self.x_signer_key, self.x_signer)
        self.y_list = f.make_master_list([self.y, self.x1], self.y_signer_key, self.y_signer)


@pytest.fixture(scope="module")
def countries() -> Countries:
    return Countries()


def cert(der: bytes) -> pki.Certificate:
    return pki.parse_certificate(der, file="t")


# --- one rule for a missing issuer ---------------------------------------------------------------


def test_a_link_and_an_ordinary_certificate_whose_issuer_is_not_loaded_are_treated_alike(countries: Countries) -> None:
    master_list = parse_master_list(countries.x_list)
    assert master_list.rejected == ()
    fingerprints = {c.fingerprint for c in master_list.certificates}
    assert {cert(countries.link).fingerprint, cert(countries.xb).fingerprint} <= fingerprints
    notes = master_list.notes
    assert len(notes) == 2 and all("not loaded: its signature was not checked" in note for note in notes)
    assert any("certificate 1 " in note for note in notes) and any("certificate 2 " in note for note in notes)


@pytest.mark.parametrize("which", ["link", "ordinary"])
def test_a_certificate_whose_loaded_issuer_does_not_verify_it_is_rejected(countries: Countries, which: str) -> None:
    forger = f.private_key("p256", "forger")
    subject_key, subject_name = (countries.x2_key, countries.x_name) if which == "link" else (
        countries.xb_key, f.name("CSCA X-B", "XA"))  # fmt: skip
    forged = f.make_certificate(subject_key, subject_name, forger, countries.x_name, ca=True,
                                issuer_public_key=countries.x1_key.public_key())  # claims X1  # fmt: skip
    data = f.make_master_list([forged, countries.x1], countries.x_signer_key, countries.x_signer)
    master_list = parse_master_list(data)
    assert [r.index for r in master_list.rejected] == [0]
    assert "does not verify" in master_list.rejected[0].reason
    assert cert(forged).fingerprint not in {c.fingerprint for c in master_list.certificates}


# --- issuers across lists and the trust directory -------------------------------------------------


def test_a_link_certificate_is_verified_by_a_parent_only_another_list_holds(countries: Countries) -> None:
    x = read_master_list(countries.x_list)
    y = read_master_list(countries.y_list)
    judged = check_master_list(x, pool=[c for _, c in y.certificates])
    assert judged.rejected == () and judged.notes == ()  # both the link and X-B verified by Y's copy of X1


def test_a_trust_directory_resolves_issuers_across_its_lists_in_any_order(
    countries: Countries, tmp_path: Path
) -> None:
    # "a-x.ml" sorts before "b-y.ml": X's list is read before the list that holds its parent.
    (tmp_path / "a-x.ml").write_bytes(countries.x_list)
    (tmp_path / "b-y.ml").write_bytes(countries.y_list)
    store, report = load_trust_directory(tmp_path)
    assert report.problems == []
    x_loaded = next(m for m in store.master_lists if m.source == "a-x.ml").master_list
    assert x_loaded.notes == () and x_loaded.rejected == ()
    # a document signed under the new key X2 chains through the trust store
    dsc = cert(f.make_certificate(f.private_key("p256", "x-dsc"), f.name("DS X", "XA"), countries.x2_key,
                                  countries.x_name, ca=False))  # fmt: skip
    outcome, anchor = check_chain(dsc, store, f.NOW)
    assert outcome.is_ok and anchor is not None and anchor.public_key.der == cert(countries.x2).public_key.der


# --- the signer's chain against the roots ---------------------------------------------------------


def test_a_list_cannot_vouch_for_its_own_signer(countries: Countries) -> None:
    master_list = parse_master_list(countries.x_list)
    assert master_list.signer_chain.status is Status.UNKNOWN
    assert "held only by the master lists" in master_list.signer_chain.reason
    assert master_list.usable  # its signature holds; the operator is told the signer is not traced


def test_the_signer_chains_to_a_root_of_the_trust_directory(countries: Countries, tmp_path: Path) -> None:
    (tmp_path / "x.ml").write_bytes(countries.x_list)
    (tmp_path / "x-root.der").write_bytes(countries.x2)
    store, _report = load_trust_directory(tmp_path)
    loaded = store.master_lists[0].master_list
    assert loaded.signer_chain.is_ok, loaded.signer_chain
    assert "issued by the root" in loaded.signer_chain.reason


def test_a_signer_the_root_does_not_verify_makes_the_list_unusable(countries: Countries, tmp_path: Path) -> None:
    forger = f.private_key("p256", "signer-forger")
    signer = f.make_certificate(countries.x_signer_key, f.name("ML Signer X", "XA"), forger, countries.x_name,
                                ca=False, issuer_public_key=countries.x2_key.public_key())  # fmt: skip
    (tmp_path / "x.ml").write_bytes(f.make_master_list([countries.xb], countries.x_signer_key, signer))
    (tmp_path / "x-root.der").write_bytes(countries.x2)
    store, report = load_trust_directory(tmp_path)
    assert not store.master_lists[0].master_list.usable
    assert [p.path for p in report.problems] == ["x.ml"]
    assert cert(countries.xb).fingerprint not in {e.certificate.fingerprint for e in store.certificates}


def test_certificates_of_a_list_are_not_roots(countries: Countries, tmp_path: Path) -> None:
    (tmp_path / "y.ml").write_bytes(countries.y_list)
    (tmp_path / "x2.der").write_bytes(countries.x2)
    store, _ = load_trust_directory(tmp_path)
    roots = {c.fingerprint for c in store.roots}
    assert roots == {cert(countries.x2).fingerprint}
    assert len(store) == 3


# --- the real German and Dutch master lists ------------------------------------------------------


@pytest.fixture(scope="module")
def real_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("realdata-trust")
    for name in (realdata.DE_MASTER_LIST, realdata.DE_ROOT, realdata.NL_MASTER_LIST, realdata.NL_ROOT):
        shutil.copy(realdata.path(name), directory / name)
    return directory


def vietnam(certificates: object) -> list[pki.Certificate]:
    return [c for c in certificates if c.subject_key_identifier == realdata.VIETNAM_CSCA_SKI]  # type: ignore[attr-defined]


@pytest.mark.parametrize(("listed", "root"), [(realdata.DE_MASTER_LIST, realdata.DE_ROOT),
                                              (realdata.NL_MASTER_LIST, realdata.NL_ROOT)])  # fmt: skip
def test_a_real_master_list_verifies_against_its_root_and_holds_the_vietnamese_csca(listed: str, root: str) -> None:
    anchor = pki.parse_certificate(realdata.read(root), file=root)
    master_list = parse_master_list(realdata.read(listed), anchors=[anchor])
    assert master_list.signature.is_ok, master_list.signature
    assert master_list.signer_chain.is_ok, master_list.signer_chain
    assert master_list.usable
    found = vietnam(master_list.certificates)
    assert len(found) == 1
    csca = found[0]
    assert realdata.VIETNAM_CSCA_CN in csca.subject.text and csca.subject.country == "VN"
    assert csca.public_key.curve == "brainpoolP512r1" and csca.public_key.explicit_parameters
    assert (csca.not_before.date().isoformat(), csca.not_after.date().isoformat()) == ("2022-06-29", "2037-10-01")
    assert csca.verify_issued_by(csca.public_key).is_ok  # self-signed, on explicit brainpoolP512r1 parameters
    # Without its root, the same list still reads, but its signer is not traced.
    assert parse_master_list(realdata.read(listed)).signer_chain.status is Status.UNKNOWN


def test_the_real_lists_reject_only_what_cannot_be_a_csca() -> None:
    german = parse_master_list(realdata.read(realdata.DE_MASTER_LIST))
    dutch = parse_master_list(realdata.read(realdata.NL_MASTER_LIST))
    # Every German rejection is a link certificate marked cA=FALSE (the realdata README counts 588,
    # of which 569 passed the old rules: the 11 others were link certificates whose older key no
    # loaded list holds, now accepted with a note like any certificate whose issuer is missing).
    assert {r.reason for r in german.rejected} == {"not a CA certificate"}
    assert len(german.certificates) + len(german.rejected) == 588
    assert all("not loaded: its signature was not checked" in note for note in german.notes)
    assert dutch.rejected == () and len(dutch.certificates) == 411


def test_a_german_link_certificate_is_verified_by_its_parent_in_the_dutch_list() -> None:
    german = read_master_list(realdata.read(realdata.DE_MASTER_LIST))
    dutch = read_master_list(realdata.read(realdata.NL_MASTER_LIST))
    alone = check_master_list(german)
    together = check_master_list(german, pool=[c for _, c in dutch.certificates])
    resolved = set(alone.notes) - set(together.notes)
    assert resolved and all("UZBEKISTAN" in note for note in resolved)  # its parent is only in the Dutch list
    assert set(together.notes) < set(alone.notes)


def test_the_real_trust_directory_loads_both_lists_and_finds_the_vietnamese_csca(real_directory: Path) -> None:
    store, report = load_trust_directory(real_directory)
    assert report.problems == []
    assert len(store.master_lists) == 2
    for loaded in store.master_lists:
        assert loaded.master_list.signature.is_ok and loaded.master_list.signer_chain.is_ok
    found = vietnam(e.certificate for e in store.certificates)
    assert len(found) == 1  # one certificate, listed by both countries
    # a document signer issued by the Vietnamese CSCA finds it by name and key identifier
    issuers = store.issuers_of(_signed_by(found[0]))
    assert [c.fingerprint for c in issuers] == [found[0].fingerprint]


def _signed_by(csca: pki.Certificate) -> pki.Certificate:
    """A certificate that names ``csca`` as its issuer (an ECDSA signature it cannot make: only the
    lookup is tested here)."""
    world = f.test_pki("p256", "p256", label="vn-lookup")
    placeholder = pki.parse_certificate(world.dsc, file="t")
    return pki.Certificate(
        der=placeholder.der, subject=placeholder.subject, issuer=csca.subject, serial_number=1,
        not_before=datetime(2024, 1, 1, tzinfo=UTC), not_after=datetime(2030, 1, 1, tzinfo=UTC),
        public_key=placeholder.public_key, signature_scheme=placeholder.signature_scheme,
        signature=placeholder.signature, tbs=placeholder.tbs, authority_key_identifier=csca.subject_key_identifier,
    )  # fmt: skip
