"""Upper-case words that look like tickers but, written bare, almost never are.

Our own list (MIT, written for marketpulse). A bare upper-case token in one of these is not linked;
the same symbol as a cashtag ($ALL) or after an exchange prefix (NYSE: ALL) still is. The larger
community list in ../shared/datasets/ticker_stopwords has no stated license, so it is not shipped;
`load_shared_stopwords()` merges it at run time where it is present.
"""

from __future__ import annotations

import json
from pathlib import Path

from marketpulse.core.errors import ConfigError
from marketpulse.core.paths import shared_datasets_dir

# Grouped so a reviewer can see why a word is here.
_ENGLISH = """A I AM AN AND ANY ARE AS AT BE BIG BY CAN DO EVER FOR GO GOOD HAS HE IF IN IS IT ITS
II III IV LOVE ME MY NEW NEXT NO NOT NOW OF OFF OH OK ON ONE OR OUT OWN PLAY REAL SEE SO THE TO TWO UP US WE
WELL YOU ALL BEST CAT CASH EAT FAST FUN GOLD HOPE HUGE JOB KEY LIFE LOW MAN MAIN NICE OPEN PEAK RUN
SAFE SAVE TRUE WIN WORK FREE LIVE LOOK HOME LAND FLY CAR ROCK TECH BOOM BULL BEAR CALL PUT MOVE"""
_ROLES = """CEO CFO COO CTO CIO CMO CSO EVP SVP VP MD GM PM HR PR IR IT QA SEO BOD"""
_FINANCE = """ATH ATL AUM BPS CAGR CAPEX DCF EBIT EBITDA EOD EPS ER ESG ETF ETFS ETN EV FCF FOMO FY FX
GAAP HODL IPO IPOS IRA IRR ITM LBO LTM M&A MOM NAV NFT OTC OTM P/E PE PEG PT Q1 Q2 Q3 Q4 QOQ REIT
ROE ROI ROIC MSCI SPAC TTM YOY YTD DD YOLO IMO IMHO LOL WTF TLDR ELI5 FUD ATM IV DTE EPS GDP CPI PPI PMI
ISM NFP FOMC QE QT BTC ETH USDT NYSE NASDAQ AMEX OTCQX OTCQB LLC LP PLC INC CORP LTD NV SA AG SE"""
_BODIES = """SEC FDA FTC DOJ DOE DOD EPA FAA FCC FED ECB BOE BOJ IMF WHO WTO OPEC NATO EU UN UK USA
CDC NIH IRS CFTC FINRA NHTSA FDIC OCC CFPB EIA IEA CBO GOP DNC NBA NFL MLB NHL NCAA FIFA"""
_PLACES = """CA NY NJ TX FL UAE HK JP CN DE FR ES IN AU NZ BR MX LA DC SF EST PST CST GMT UTC ET PT"""
_CURRENCIES = """USD EUR GBP JPY CHF CAD AUD NZD CNY HKD INR KRW BRL MXN RUB"""
# Acronyms of finance and pharma news that are also symbols: CRL complete response letter, CFR
# corporate family rating, LNG the fuel, RBC the Canadian bank rather than RBC Bearings.
_ACRONYMS = """RSI MACD EMA SMA VWAP OBV ATR TM ACT NOTE HOLD BUY SELL GAIN LOSS DEAL NEWS RISK RATE FUND BOND DEBT BANK
CRL CFR LNG RBC NDA BLA ANDA PDUFA CDS CLO CMBS RMBS HY IG OEM ODM PPA LOI MOU SPV JV CAGR
MRAM EBIT ADR ADS GDR REIT BDC MLP CEF OTC NYSE PE VC LP GP AUM NAV TSX ASX LSE HKEX SGX KOSPI"""
_TECH = """AI API APP AR VR XR ML LLM GPU CPU AWS PC TV OS UI UX IOT SAAS CLOUD EV EVS USB LED LCD 5G
4G LTE NFC RFID DNA RNA HIV COVID"""

STOPWORDS: frozenset[str] = frozenset(
    word
    for group in (_ENGLISH, _ROLES, _FINANCE, _BODIES, _PLACES, _CURRENCIES, _ACRONYMS, _TECH)
    for word in group.split()
)


def load_shared_stopwords(path: Path | None = None) -> frozenset[str]:
    """The community stop-word list from the shared datasets folder (not shipped: no license)."""
    path = path or shared_datasets_dir() / "ticker_stopwords" / "ticker_stopwords.json"
    if not path.is_file():
        raise ConfigError(
            f"ticker stop-word list not found at {path}; set MARKETPULSE_DATASETS to the folder holding "
            "ticker_stopwords/ticker_stopwords.json, or run without it (marketpulse's own list is used)"
        )
    words = json.loads(path.read_text(encoding="utf-8")).get("stopwords", [])
    return frozenset(str(w).upper() for w in words)
