"""Market benchmarks on SQLite or PostgreSQL (issue 21): the Sirene import and the coverage report.

Targets: a 1,000,000-row StockEtablissement extract imported by ``crm market import`` in at most
30 s and under 500 MB peak memory, and ``crm market coverage`` over it in at most 2 s (each the
whole command in a child process, start-up included), with 500 customers (a confirmed order each)
and 20,000 leads among the register's companies. ``--quick`` uses 5,000 rows.
"""

from __future__ import annotations

import random
import sys
import tempfile
from pathlib import Path

IMPORT_SECONDS = 30
IMPORT_MB = 500
COVERAGE_SECONDS = 2
HEADER = ("siren,nic,siret,statutDiffusionEtablissement,dateCreationEtablissement,trancheEffectifsEtablissement,"
          "activitePrincipaleEtablissement,etablissementSiege,denominationUsuelleEtablissement,enseigne1Etablissement,"
          "codePostalEtablissement,libelleCommuneEtablissement,etatAdministratifEtablissement")
NAF = ("43.21A", "43.22A", "43.22B", "47.11F", "56.10A", "62.01Z", "68.20A", "69.20Z", "71.12B", "86.21Z",
       "41.20A", "45.20A", "46.69B", "49.41A", "55.10Z", "85.59A", "96.02A", "10.71C", "25.62B", "33.12Z")
BANDS = ("NN", "NN", "NN", "00", "01", "02", "03", "11", "12", "21", "22", "31", "32", "41", "42", "51", "52", "53")
TOWNS = (("75011", "PARIS"), ("69003", "LYON"), ("13008", "MARSEILLE"), ("31000", "TOULOUSE"),
         ("33000", "BORDEAUX"), ("59000", "LILLE"), ("44000", "NANTES"), ("20000", "AJACCIO"),
         ("97400", "SAINT-DENIS"), ("21000", "DIJON"), ("35000", "RENNES"), ("06000", "NICE"))


def luhn_complete(digits: str) -> str:
    """``digits`` followed by their Luhn key (a SIREN from 8 digits, a SIRET from 13)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return digits + str((10 - total % 10) % 10)


def write_extract(path: Path, rows: int, *, seed: int = 21) -> list[str]:
    """A synthetic extract of ``rows`` establishments (about 1.25 per company); returns the SIRENs used."""
    rng = random.Random(seed)
    sirens = []
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(HEADER + "\n")
        written, company = 0, 0
        while written < rows:
            siren = luhn_complete(f"{10_000_000 + company * 7:08d}")
            sirens.append(siren)
            company += 1
            naf, band = rng.choice(NAF), rng.choice(BANDS)
            for branch in range(1 if rng.random() < 0.8 else rng.randint(2, 3)):
                if written >= rows:
                    break
                siret = luhn_complete(f"{siren}{branch + 1:04d}")
                postal, town = rng.choice(TOWNS)
                state = "A" if rng.random() < 0.85 else "F"
                created = f"{rng.randint(1970, 2026)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
                handle.write(f"{siren},{siret[9:]},{siret},O,{created},{band},{naf},{'true' if branch == 0 else 'false'},"
                             f"Société {company},,{postal},{town},{state}\n")
                written += 1
    return sirens


def _crm(config: Path, *args: str) -> tuple[float, float, str]:
    """Run ``crm`` in a child process: (seconds, its peak memory in MB, stdout)."""
    from benchmarks._db import measured_crm

    seconds, peak, _, out = measured_crm(config, *args)
    return seconds, peak, out


def _relations(app, sirens: list[str], *, customers: int, leads: int) -> None:
    """Customers (a partner with a confirmed order each) and leads among the register's companies."""
    from core.services.catalog import create_product
    from core.services.orders import confirm_order, create_order
    from core.services.partners import create_partner

    rng = random.Random(5)
    chosen = rng.sample(sirens, customers + leads)
    with app.transaction() as session:
        create_product(session, {"sku": "P", "name": "Product", "list_price": "120.00", "stockable": False})
        for n, siren in enumerate(chosen[:customers]):
            partner = create_partner(app, session, {"name": f"Customer {n}", "siren": siren})
            order = create_order(app, session, {"customer": str(partner.id), "lines": [
                {"sku": "P", "quantity": str(1 + n % 7)}]})
            confirm_order(app, session, order)
    from benchmarks._db import bulk, settle

    with app.engine.begin() as connection:
        bulk(connection, "funnel_lead", ["name", "siren", "state", "created_on", "created_at"],
             ((f"Lead {n}", siren, "new", "2026-11-02", "2026-11-02 00:00:00")
              for n, siren in enumerate(chosen[customers:])))
    settle(app.engine)


def run(quick: bool = False) -> list[dict]:
    from benchmarks._db import init_workspace

    rows = 5_000 if quick else 1_000_000
    with tempfile.TemporaryDirectory(prefix="bench-market-") as folder:
        folder = Path(folder)
        app = init_workspace(folder / "ws", name="Bench SAS", modules=["funnel"])
        extract = folder / "StockEtablissement.csv"
        sirens = write_extract(extract, rows)
        _relations(app, sirens, customers=50 if quick else 500, leads=500 if quick else 20_000)
        app.close()
        config = folder / "ws" / "crm.toml"
        seconds, peak, _ = _crm(config, "market", "import", str(extract))
        results = [{"benchmark": f"crm market import ({rows:,} rows)", "seconds": f"{seconds:.2f}",
                    "peak_mb": f"{peak:.0f}", "target": f"<= {IMPORT_SECONDS} s, < {IMPORT_MB} MB"}]
        for by in ("naf", "department", "size"):
            seconds, peak, _ = _crm(config, "market", "coverage", "--by", by, "--json")
            results.append({"benchmark": f"crm market coverage --by {by} ({rows:,} rows)", "seconds": f"{seconds:.2f}",
                            "peak_mb": f"{peak:.0f}", "target": f"<= {COVERAGE_SECONDS} s"})
        return results


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print(row)
