"""The 40 XTREME languages (Hu et al., 2020, Table 5) and how each data source names them.

XTREME files and configs use ISO 639-1 codes (``de``) except: the hub's UD-POS configs use the
English language name (``udpos.German``), Tatoeba uses ISO 639-3 as in the LASER release
(``deu``, ``cmn`` for Chinese, ``pes`` for Persian, ``swh`` for Swahili), TyDiQA-GoldP marks
the language in the question id (``english-...``) and FLORES-200 uses code_Script
(``deu_Latn``). ``None``: the source has no data for that language.
"""

from __future__ import annotations

from dataclasses import dataclass

from posenc.registry import UnknownNameError, did_you_mean


@dataclass(frozen=True)
class Language:
    code: str
    name: str
    ud: str | None        # hub config udpos.<ud>
    tatoeba: str | None   # tatoeba.<tatoeba>-eng.<tatoeba>, hub config tatoeba.<tatoeba>
    flores: str           # FLORES-200 code


_TABLE = """
af Afrikaans Afrikaans afr afr_Latn
ar Arabic Arabic ara arb_Arab
bg Bulgarian Bulgarian bul bul_Cyrl
bn Bengali - ben ben_Beng
de German German deu deu_Latn
el Greek Greek ell ell_Grek
en English English eng eng_Latn
es Spanish Spanish spa spa_Latn
et Estonian Estonian est est_Latn
eu Basque Basque eus eus_Latn
fa Persian Persian pes pes_Arab
fi Finnish Finnish fin fin_Latn
fr French French fra fra_Latn
he Hebrew Hebrew heb heb_Hebr
hi Hindi Hindi hin hin_Deva
hu Hungarian Hungarian hun hun_Latn
id Indonesian Indonesian ind ind_Latn
it Italian Italian ita ita_Latn
ja Japanese Japanese jpn jpn_Jpan
jv Javanese - jav jav_Latn
ka Georgian - kat kat_Geor
kk Kazakh Kazakh kaz kaz_Cyrl
ko Korean Korean kor kor_Hang
ml Malayalam - mal mal_Mlym
mr Marathi Marathi mar mar_Deva
ms Malay - zsm zsm_Latn
my Burmese - - mya_Mymr
nl Dutch Dutch nld nld_Latn
pt Portuguese Portuguese por por_Latn
ru Russian Russian rus rus_Cyrl
sw Swahili - swh swh_Latn
ta Tamil Tamil tam tam_Taml
te Telugu Telugu tel tel_Telu
th Thai Thai tha tha_Thai
tl Tagalog Tagalog tgl tgl_Latn
tr Turkish Turkish tur tur_Latn
ur Urdu Urdu urd urd_Arab
vi Vietnamese Vietnamese vie vie_Latn
yo Yoruba Yoruba - yor_Latn
zh Chinese Chinese cmn zho_Hans
"""


def _parse() -> dict[str, Language]:
    out = {}
    for row in _TABLE.strip().splitlines():
        code, name, ud, tatoeba, flores = row.split()
        out[code] = Language(code, name, None if ud == "-" else ud, None if tatoeba == "-" else tatoeba, flores)
    return out


XTREME_LANGUAGES: dict[str, Language] = _parse()


def language(code: str) -> Language:
    """The XTREME language with ISO 639-1 ``code``; an unknown code names the closest ones."""
    try:
        return XTREME_LANGUAGES[code]
    except KeyError:
        raise UnknownNameError(f"unknown XTREME language {code!r}.{did_you_mean(code, list(XTREME_LANGUAGES))} "
                       f"Known: {', '.join(XTREME_LANGUAGES)}") from None
