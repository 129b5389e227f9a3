"""The client's record of each galaxy's state: one small JSON file per galaxy in ``OUTPUT/ledger/<id>.json``, each
written atomically, and only by the client, after the galaxy's database row.

Why it makes a run resumable and idempotent:

- a galaxy whose entry says ``done`` for this run's configuration (``run_key``), and whose folder holds
  ``.completed``, is skipped by a re-run;
- a client killed between a galaxy's database row and its entry loses nothing: the re-run fits the galaxy again,
  its search returns the completed folder at once, and the database row is replaced (matched by identifier), never
  duplicated;
- a galaxy a worker completed after its client died has no entry: the re-run picks it up the same way.

One client per output folder (``runner`` holds ``OUTPUT/.catalogue.lock``), so nothing else writes here.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

from galaxyfit.output import write_json_atomic


class Ledger:
    """The ledger folder ``<output>/ledger``: ``read()`` every entry, ``write(record)`` one."""

    def __init__(self, output):
        self.folder = Path(output) / "ledger"

    def path(self, galaxy_id: str) -> Path:
        return self.folder / f"{galaxy_id}.json"

    def read(self) -> dict[str, dict]:
        """{id: record dict} of every readable entry. An entry that does not parse (written by something else: the
        writes are atomic) is warned about and treated as absent, so its galaxy is fitted again."""
        entries = {}
        if not self.folder.is_dir():
            return entries
        for path in sorted(self.folder.glob("*.json")):
            try:
                record = json.loads(path.read_text())
                if not isinstance(record, dict) or "id" not in record:
                    raise ValueError("not a galaxy record")
            except (OSError, ValueError) as exc:
                warnings.warn(f"ledger entry {path} is unreadable ({exc}): its galaxy will be fitted again", stacklevel=2)
                continue
            entries[str(record["id"])] = record
        return entries

    def write(self, record: dict) -> None:
        """Replace the galaxy's entry (atomically). Raises OutputError naming the file."""
        write_json_atomic(self.path(str(record["id"])), {k: v for k, v in record.items() if k != "skipped"})


def is_done(record: dict | None, run_key: str) -> bool:
    """Whether a ledger entry lets a run skip its galaxy: done, by a run of the same configuration, and its folder
    still complete."""
    if not record or record.get("status") != "done" or record.get("run_key") != run_key:
        return False
    folder = record.get("folder")
    return bool(folder) and (Path(folder) / ".completed").is_file()
