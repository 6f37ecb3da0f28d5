"""The card side of the simulated CCCD on its own against the published worked examples of ICAO Doc
9303 Part 11 (8th edition): Appendix D (BAC and 3DES secure messaging), F (Active Authentication, RSA
ISO/IEC 9796-2), G.1/G.2 (PACE Generic Mapping, ECDH and DH) and H.1/H.2 (PACE Integrated Mapping,
ECDH and DH).

The card is given the chip's random values of each example (RND.IC and K.IC; the nonce s and the chip's
private keys) and must answer the terminal's published APDUs with exactly the published responses.
"""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from agent.icao import dh, ec
from agent.icao.crypto import AES_128, KDF_PACE, TDES, kdf
from simulators.card import pace
from simulators.card.active_auth import message_representative, recoverable_length
from simulators.card.card import SimulatedCard
from simulators.card.image import CardBehaviour, CardImage, PaceSetup
from tests.simulators.test_card_minihost import ScriptedRng, sw_of

H = bytes.fromhex

EF_COM = H("60145F0104303130365F36063034303030305C026175")

# --- Appendix D: BAC ----------------------------------------------------------------------------------

D_MRZ_INFORMATION = "L898902C<369080619406236"
D_RND_IC = "4608F91988702212"
D_K_IC = "0B4F80323EB3191CB04970CB4052790B"
D_E_IFD = "72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F2"
D_M_IFD = "5F1448EEA8AD90A7"
D_RESPONSE = "46B9342A41396CD7386BF5803104D7CEDC122B9132139BAF2EEDC94EE178534F2F2D235D074D7449"


def appendix_d_card() -> SimulatedCard:
    image = CardImage(files={0x011E: EF_COM}, mrz_information=D_MRZ_INFORMATION, can="")
    return SimulatedCard(image, rng=ScriptedRng(D_RND_IC, D_K_IC))


def test_appendix_d_bac_and_secure_messaging_byte_for_byte() -> None:
    card = appendix_d_card()
    assert card.process(H("00A4040C07A0000002471001")) == H("9000")
    assert card.process(H("0084000008")) == H(D_RND_IC + "9000")
    answer = card.process(H("0082000028" + D_E_IFD + D_M_IFD + "28"))
    assert answer == H(D_RESPONSE + "9000")
    session = card.session
    assert session is not None
    assert session.ks_enc == H("979EC13B1CBFE9DCD01AB0FED307EAE5")
    assert session.ks_mac == H("F1CB1F1FB5ADF208806B89DC579DC1F8")
    assert session.ssc == 0x887022120C06C226
    # D.4: the three protected APDUs reading EF.COM.
    assert card.process(H("0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800")) == H(
        "990290008E08FA855A5D4C50A8ED9000")
    assert card.process(H("0CB000000D9701048E08ED6705417E96BA5500")) == H(
        "8709019FF0EC34F9922651990290008E08AD55CC17140B2DED9000")
    assert card.process(H("0CB000040D9701128E082EA28A70F3C7B53500")) == H(
        "871901FB9235F4E4037F2327DCC8964F1F9B8C30F42C8E2FFF224A990290008E08C8B2787EAEA07D749000")
    assert session.ssc == 0x887022120C06C22C


@pytest.mark.parametrize(
    ("tamper", "expected_sw"),
    [
        ("mac", 0x6300),  # M.IFD flipped
        ("cryptogram", 0x6300),  # E.IFD flipped: MAC fails first
        ("length", 0x6700),
    ],
)
def test_appendix_d_tampered_external_authenticate_is_refused(tamper: str, expected_sw: int) -> None:
    card = appendix_d_card()
    card.process(H("00A4040C07A0000002471001"))
    card.process(H("0084000008"))
    data = bytearray(H(D_E_IFD + D_M_IFD))
    if tamper == "mac":
        data[-1] ^= 1
    elif tamper == "cryptogram":
        data[0] ^= 1
    else:
        data = data[:-1]
    answer = card.process(bytes([0x00, 0x82, 0x00, 0x00, len(data)]) + bytes(data) + b"\x28")
    assert answer == expected_sw.to_bytes(2, "big")
    assert not card.secure_messaging_active
    # The challenge is spent: replaying the genuine cryptogram needs a new GET CHALLENGE.
    assert sw_of(card.process(H("0082000028" + D_E_IFD + D_M_IFD + "28"))) == 0x6985


# --- Appendix F: Active Authentication (RSA, ISO/IEC 9796-2, SHA-1) -----------------------------------

F_RND_IFD = H("F173589974BF40C6")
F_M1 = H(
    "9D2784A67F8E7C659973EA1AEA25D95B6C8F91E5002F369F0FBDCE8A3CEC1991B543F1696546C5524CF23A5303CD6C98"
    "599F40B79F377B5F3A1406B3B4D8F96784D23AA88DB7E1032A405E69325FA91A6E86F5C71AEA978264C4A207446DAD4E"
    "7292E2DCDA3024B47DA8"
)
F_REPRESENTATIVE = H(
    "6A9D2784A67F8E7C659973EA1AEA25D95B6C8F91E5002F369F0FBDCE8A3CEC1991B543F1696546C5524CF23A5303CD6C"
    "98599F40B79F377B5F3A1406B3B4D8F96784D23AA88DB7E1032A405E69325FA91A6E86F5C71AEA978264C4A207446DAD"
    "4E7292E2DCDA3024B47DA8C063AA1E6D22FBD976AB0FE73D94D2D9C6D88127BC"
)


def test_appendix_f_message_representative() -> None:
    assert recoverable_length(1024, "SHA-1") == len(F_M1) == 106
    assert message_representative(F_M1, F_RND_IFD, "SHA-1") == F_REPRESENTATIVE


def test_appendix_f_card_signs_the_published_representative() -> None:
    # Appendix F does not publish the private key: sign with our own 1024-bit key and check that the
    # signature opens (S^e mod n) to exactly the published F for the published M1 and RND.IFD.
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    image = CardImage(files={}, mrz_information=D_MRZ_INFORMATION, can="", active_auth_private_key_der=der,
                      behaviour=CardBehaviour(supports_bac=False))
    card = SimulatedCard(image, rng=ScriptedRng(F_M1.hex()))
    answer = card.process(H("0088000008") + F_RND_IFD + b"\x00")
    assert sw_of(answer) == 0x9000
    signature = int.from_bytes(answer[:-2], "big")
    public = key.public_key().public_numbers()
    assert len(answer) - 2 == 128
    assert pow(signature, public.e, public.n).to_bytes(128, "big") == F_REPRESENTATIVE


# --- Appendix G.1 / G.2 and H.1 / H.2: PACE -----------------------------------------------------------

MRZ_T22 = "T22000129364081251010318"  # document T22000129, DOB 640812, expiry 101031 with check digits


def pace_card(oid: str, parameter_id: int, rng: ScriptedRng, *, can: str = "") -> SimulatedCard:
    image = CardImage(files={}, mrz_information=MRZ_T22, can=can, pace=(PaceSetup(oid, parameter_id),))
    return SimulatedCard(image, rng=rng)


def test_appendix_g_password_encoding_and_k_pi() -> None:
    encoded = hashlib.sha1(MRZ_T22.encode()).digest()
    assert encoded == H("7E2D2A41C74EA0B38CD36F863939BFA8E9032AAD")
    assert kdf(encoded, KDF_PACE, AES_128) == H("89DED1B26624EC1E634C1989302849DD")
    # Appendix H gives K_pi 591468CD... although it says "the MRZ-derived key K from the previous
    # Example is used": that value is the CAN 123456, not the MRZ (spec erratum, noted in the report).
    assert kdf(b"123456", KDF_PACE, AES_128) == H("591468CDA83D65219CCCB8560233600F")


def test_appendix_g1_pace_ecdh_generic_mapping() -> None:
    rng = ScriptedRng(
        "3F00C4D39D153F2B2A214A078D899B22",  # nonce s
        "498FF49756F2DC1587840041839A85982BE7761D14715FB091EFA7BCE9058560",  # chip's mapping key
        "107CF58696EF6155053340FD633392BA81909DF7B9706F226F32086C7AFF974A",  # chip's ephemeral key
    )
    card = pace_card("0.4.0.127.0.7.2.2.4.2.2", 13, rng)
    assert card.process(H("0022C1A40F800A04007F00070202040202830101")) == H("9000")
    assert card.process(H("10860000027C0000")) == H("7C12801095A3A016522EE98D01E76CB6B98B42C39000")
    assert card.process(H(
        "10860000457C438141047ACF3EFC982EC45565A4B155129EFBC74650DCBFA6362D896FC70262E0C2CC5E"
        "544552DCB6725218799115B55C9BAA6D9F6BC3A9618E70C25AF71777A9C4922D00"
    )) == H(
        "7C43824104824FBA91C9CBE26BEF53A0EBE7342A3BF178CEA9F45DE0B70AA601651FBA3F57"
        "30D8C879AAA9C9F73991E61B58F4D52EB87A0A0C709A49DC63719363CCD13C549000"
    )
    assert card.process(H(
        "10860000457C438341042DB7A64C0355044EC9DF190514C625CBA2CEA48754887122F3A5EF0D5EDD301C"
        "3556F3B3B186DF10B857B58F6A7EB80F20BA5DC7BE1D43D9BF850149FBB3646200"
    )) == H(
        "7C438441049E880F842905B8B3181F7AF7CAA9F0EFB743847F44A306D2D28C1D9EC65DF6DB"
        "7764B22277A2EDDC3C265A9F018F9CB852E111B768B326904B59A0193776F0949000"
    )
    assert not card.secure_messaging_active
    assert card.process(H("008600000C7C0A8508C2B0BD78D94BA86600")) == H("7C0A86083ABB9674BCE93C089000")
    session = card.session
    assert session is not None
    assert session.ks_enc == H("F5F0E35C0D7161EE6724EE513A0D9A7F")
    assert session.ks_mac == H("FE251C7858B356B24514B3BD5F4297D1")
    assert session.ssc == 0


def test_appendix_g1_wrong_terminal_token_is_6300() -> None:
    rng = ScriptedRng(
        "3F00C4D39D153F2B2A214A078D899B22",
        "498FF49756F2DC1587840041839A85982BE7761D14715FB091EFA7BCE9058560",
        "107CF58696EF6155053340FD633392BA81909DF7B9706F226F32086C7AFF974A",
    )
    card = pace_card("0.4.0.127.0.7.2.2.4.2.2", 13, rng)
    card.process(H("0022C1A40F800A04007F00070202040202830101"))
    card.process(H("10860000027C0000"))
    card.process(H("10860000457C438141047ACF3EFC982EC45565A4B155129EFBC74650DCBFA6362D896FC70262E0C2CC5E"
                   "544552DCB6725218799115B55C9BAA6D9F6BC3A9618E70C25AF71777A9C4922D00"))
    card.process(H("10860000457C438341042DB7A64C0355044EC9DF190514C625CBA2CEA48754887122F3A5EF0D5EDD301C"
                   "3556F3B3B186DF10B857B58F6A7EB80F20BA5DC7BE1D43D9BF850149FBB3646200"))
    assert card.process(H("008600000C7C0A8508C2B0BD78D94BA86700")) == H("6300")
    assert not card.secure_messaging_active
    assert sw_of(card.process(H("008600000C7C0A8508C2B0BD78D94BA86600"))) == 0x6985  # the run is over


G2_CHIP_MAPPING_PUBLIC = (
    "78879F57225AA8080D52ED0FC890A4B25336F699AA89A2D3A189654AF70729E623EA5738B26381E4DA19E004706FACE7"
    "B235C2DBF2F38748312F3C98C2DD4882A41947B324AA1259AC22579DB93F7085655AF30889DBB845D9E6783FE42C9F24"
    "49400306254C8AE8EE9DD812A804C0B66E8CAFC14F84D8258950A91B44126EE6"
)
G2_CHIP_EPHEMERAL_PUBLIC = (
    "075693D9AE941877573E634B6E644F8E60AF17A0076B8B123D9201074D36152BD8B3A213F53820C42ADC79AB5D0AEEC3"
    "AEFB91394DA476BD97B9B14D0A65C1FC71A0E019CB08AF55E1F729005FBA7E3FA5DC41899238A250767A6D46DB974064"
    "386CD456743585F8E5D90CC8B4004B1F6D866C79CE0584E49687FF61BC29AEA1"
)


def test_appendix_g2_pace_dh_generic_mapping() -> None:
    rng = ScriptedRng(
        "FA5B7E3E49753A0DB9178B7B9BD898C8",
        "66DDAFEAC1609CB5B963BB0CB3FF8B3E047F336C",
        "A5B780126B7C980E9FCEA1D4539DA1D27C342DFA",
    )
    card = pace_card("0.4.0.127.0.7.2.2.4.1.2", 0, rng)
    assert card.process(H("0022C1A40F800A04007F00070202040102830101")) == H("9000")
    assert card.process(H("10860000027C0000")) == H("7C128010854D8DF5827FA6852D1A4FA701CDDDCA9000")
    assert card.process(H(
        "10860000867C8183818180"
        "23FB3749EA030D2A25B278D2A562047ADE3F01B74F17A15402CB7352CA7D2B3EB71C343DB13D1DEBCE9A3666DBCFC920"
        "B49174A602CB47965CAA73DC702489A44D41DB914DE9613DC5E98C94160551C0DF86274B9359BC0490D01B03AD54022D"
        "CB4F57FAD6322497D7A1E28D46710F461AFE710FBBBC5F8BA166F4311975EC6C00"
    )) == H("7C8183828180" + G2_CHIP_MAPPING_PUBLIC + "9000")
    assert card.process(H(
        "10860000867C8183838180"
        "907D89E2D425A178AA81AF4A7774EC8E388C115CAE67031E85EECE520BD911551B9AE4D04369F29A02626C86FBC6747C"
        "C7BC352645B6161A2A42D44EDA80A08FA8D61B76D3A154AD8A5A51786B0BC07147057871A922212C5F67F43173172236"
        "B7747D1671E6D692A3C7D40A0C3C5CE397545D015C175EB5130551EDBC2EE5D400"
    )) == H("7C8183848180" + G2_CHIP_EPHEMERAL_PUBLIC + "9000")
    # The published answer also carries a CAR (DO'87') because that chip supports Terminal
    # Authentication; this card does not, so only the token DO'86' is compared.
    assert card.process(H("008600000C7C0A8508B46DD9BD4D98381F00")) == H("7C0A8608917F37B5C0E6D8D19000")
    session = card.session
    assert session is not None
    assert session.ks_enc == H("2F7F46ADCC9E7E521B45D192FAFA9126")
    assert session.ks_mac == H("805A1D27D45A5116F73C54469462B7D8")


H1_CHIP_PUBLIC = (
    "67F78E5F7F7686082B293E8D087E056916D0F74BC01A5F8957D0DE45691E51E8"
    "932B69A962B52A0985AD2C0A271EE6A13A8ADDDCD1A3A994B9DED257F4D22753"
)
H1_TERMINAL_PUBLIC = (
    "89CBA23FFE96AA18D824627C3E934E54A9FD0B87A95D1471DC1C0ABFDCD640D4"
    "6755DE9B7B778280B6BEBD57439ADFEB0E21FD4ED6DF42578C13418A59B34C37"
)


def test_appendix_h1_pseudo_random_mapping_and_point_encoding() -> None:
    s, t = H("2923BE84E16CD6AE529049F1F1BBE9EB"), H("5DD4CBFC96F5453B130D890A1CDBAE32")
    curve = ec.BRAINPOOL_P256R1
    r = H("E4447E2DFB3586BAC05DDB00156B57FBB2179A3949294C97254189800C517BAA8DA0FF397ED8C445D3E421E4FEB57322")
    assert pace.pseudo_random_bytes(AES_128, s, t, curve.p.bit_length()) == r
    field_element = pace.pseudo_random(AES_128, s, t, curve.p)
    assert field_element == int.from_bytes(H("A2F8FF2DF50E52C6599F386ADCB595D229F6A167ADE2BE5F2C3296ADD5B7430E"), "big")
    assert pace.point_encoding(curve, field_element) == (
        int.from_bytes(H("8E82D31559ED0FDE92A4D0498ADD3C23BABA94FB77691E31E90AEA77FB17D427"), "big"),
        int.from_bytes(H("4C1AE14BD0C3DBAC0C871B7F3608169364437CA30AC243A089D3F266C1E60FAD"), "big"),
    )


def test_appendix_h1_pace_ecdh_integrated_mapping() -> None:
    rng = ScriptedRng(
        "2923BE84E16CD6AE529049F1F1BBE9EB",  # nonce s
        "107CF58696EF6155053340FD633392BA81909DF7B9706F226F32086C7AFF974A",  # chip's ephemeral key
    )
    card = pace_card("0.4.0.127.0.7.2.2.4.4.2", 13, rng, can="123456")
    assert card.process(H("0022C1A412800A04007F0007020204040283010284010D")) == H("9000")
    assert card.process(H("10860000027C0000")) == H("7C128010143DC40C08C8E891FBED7DEDB92B64AD9000")
    assert card.process(H("10860000147C1281105DD4CBFC96F5453B130D890A1CDBAE3200")) == H("7C009000")
    assert card.process(H("10860000457C43834104" + H1_TERMINAL_PUBLIC + "00")) == H(
        "7C43844104" + H1_CHIP_PUBLIC + "9000")
    assert card.process(H("008600000C7C0A8508450F02B86F6A090900")) == H("7C0A860875D4D96E8D5B03089000")
    session = card.session
    assert session is not None
    assert session.ks_enc == H("0D3FEB33251A6370893D62AE8DAAF51B")
    assert session.ks_mac == H("B01E89E3D9E8719E586B50B4A7506E0B")


H2_T = "B3A6DB3C870C3E99245E0D1C06B747DE"
H2_CHIP_PRIVATE = (
    "020F018C7284B047FA7721A337EFB7ACB1440BB30C5252BD41C97C30C994BB78E9F0C5B32744D84017D21FFA6878396A"
    "6469CA283EF5C000DAF7D261A39AB8860ED4610AB5343390897AAB5A7787E4FAEFA0649C6A94FDF82D991E8E3FC332F5"
    "142729E7040A3F7D5A4D3CD75CBEE1F043C1CAD2DD484FEB4ED22B597D36688E"
)
H2_CHIP_PUBLIC = (
    "928D9A0F9DBA450F13FC859C6F290D1D36E42431138A4378500BEB4E0401854CFF111F71CB6DC1D0335807A11388CC8E"
    "AA87B07907AAD9FBA6B169AF6D8C26AF8DDDC39ADC3AD2E3FF882B84D23E9768E95A80E4746FB07A9767679FE92133B4"
    "D379935C771BD7FBED6C7BB4B1708B275EA75679524CDC9C6A91370CC662A2F3"
)
H2_TERMINAL_PUBLIC = (
    "0F0CC62945A8029251FB7EF3C094E12EC68E4EF07F27CB9D9CD04C5C4250FAE0E4F8A951557E929AEB48E5C6DD47F2F5"
    "CD7C351A9BD2CD722C07EDE166770F08FFCB370262CF308DD7B07F2E0DA9CAAA1492344C852906919538C98A4BA4187E"
    "76CE9D87832386D319CE2E043C3343AEAE6EDBA1A9894DC5094D22F7FE1351D5"
)


def test_appendix_h2_pseudo_random_mapping() -> None:
    group = dh.MODP_1024_160
    assert pace.pseudo_random_bytes(AES_128, H("FA5B7E3E49753A0DB9178B7B9BD898C8"), H(H2_T), 1024) == H(
        "EAB98D13E09052952AA729907C3C946184DEA0FE74AD2B3AF506F0A83018459C38099CD1F7FF4EA0A078DB1FAC136550"
        "5E3DC85500EF95E20B4EEF2E88489233BEE0546B472F994B618D168702406791DEEF3CB4810932EC278F3533FDB860EB"
        "4835C36FA4F1BF3FA0B828A718C96BDE88FBA38A3E6C35AAA10959251EB5FC710FC187258995944C0F926E249373F485")
    field_element = pace.pseudo_random(AES_128, H("FA5B7E3E49753A0DB9178B7B9BD898C8"), H(H2_T), group.p)
    assert field_element == int.from_bytes(H(
        "A0C7C50C002061A51CC87D254EF38068607417B6EE1B36473CFB800D2D2E5FA2B6980F01105D24FAB22ACD1BFA5C8A4C"
        "093ECDFAFE6D7125D42A843E338603835CF19AFAFF75EFE21DC5F6AA1F9AE46C25087E7368166FB08C1E4627AFED7D93"
        "570417B790FF7F747E57F432B04E1236819E0DFEF5B6E77CA4999925328182D2"), "big")
    assert group.q is not None
    assert pow(field_element, (group.p - 1) // group.q, group.p) == int.from_bytes(H(
        "1D7D767F11E333BCD6DBAEF40E799E7A926B96973550656FF3C830726D118D61C276CDCC61D475CF03A98E0C0E79CAEB"
        "A5BE25578BD4551D0B10903236F0B0F976852FA78EEA14EA0ACA87D1E91F688FE0DFF897BBE35A472621D343564B262F"
        "34223AE8FC59B664BFEDFA2BFE7516CA5510A6BBB633D517EC25D4E0BBAA16C2"), "big")


def test_appendix_h2_pace_dh_integrated_mapping(monkeypatch: pytest.MonkeyPatch) -> None:
    # H.2's chip uses a 1024-bit private exponent where this card draws q-sized ones (160 bits).
    monkeypatch.setattr(pace.DhGroup, "private_key_length", property(lambda self: 128))
    rng = ScriptedRng("FA5B7E3E49753A0DB9178B7B9BD898C8", H2_CHIP_PRIVATE)
    card = pace_card("0.4.0.127.0.7.2.2.4.3.2", 0, rng, can="123456")
    assert card.process(H("0022C1A40F800A04007F00070202040302830102")) == H("9000")
    assert card.process(H("10860000027C0000")) == H("7C1280109ABB8864CA0FF1551E620D1EF4E135109000")
    assert card.process(H("10860000147C128110" + H2_T + "00")) == H("7C009000")
    assert card.process(H("10860000867C8183838180" + H2_TERMINAL_PUBLIC + "00")) == H(
        "7C8183848180" + H2_CHIP_PUBLIC + "9000")
    assert card.process(H("008600000C7C0A850855D61977CBF5307E00")) == H("7C0A8608C2F04230187E15259000")
    session = card.session
    assert session is not None
    assert session.ks_enc == H("01AFC10CF87BE36D8179E87370171F07")
    assert session.ks_mac == H("23F0FBD05FD6C7B8B88F4C8309669061")


def test_tdes_is_not_confused_with_aes_in_k_pi() -> None:
    # K_pi for 3DES keeps the parity-adjusted SHA-1 prefix (§9.7.1.1), unlike AES-128.
    encoded = hashlib.sha1(MRZ_T22.encode()).digest()
    assert kdf(encoded, KDF_PACE, TDES) != kdf(encoded, KDF_PACE, AES_128)
