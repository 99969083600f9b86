"""Let the pinned integ-runner read this app's cloud assembly.

``@aws-cdk/integ-runner`` 2.197.10 (the newest the npm registry has) bundles cloud assembly schema
revision 53 and refuses a newer assembly; aws-cdk-lib 2.275.0 writes revision 55. Revisions 54 and 55
changed only ``integ.schema.json``, by two additions this test does not use (``requireApproval:
"destructive"`` and ``allowDeleteFailures``); the assembly and asset schemas are byte-for-byte the
same. So the assembly is stamped with revision 53 after synthesis, and only for those revisions.

Nothing is hidden: integ-runner still validates every manifest against its own (revision 53) JSON
schema, so an assembly that used anything newer would be refused as invalid. A revision not listed
here is left as it is, and integ-runner then says which CLI version it needs: pin a newer
integ-runner (and drop this module) or review the new revision's schema changes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import aws_cdk as cdk

#: The schema revision the pinned integ-runner reads.
READER_REVISION = 53
#: Newer revisions that differ from it only by integ options this test does not set.
COMPATIBLE_REVISIONS = (54, 55)

_VERSION = re.compile(r'("version"\s*:\s*)"(\d+)\.0\.0"')


def synth(app: cdk.App) -> Path:
    """``app.synth()``, then the assembly's manifests stamped with :data:`READER_REVISION` when compatible."""
    directory = Path(app.synth().directory)
    revision = int(json.loads((directory / "manifest.json").read_text(encoding="utf-8"))["version"].split(".")[0])
    if revision not in COMPATIBLE_REVISIONS:
        return directory
    for path in sorted(directory.iterdir()):
        if path.is_file() and (path.suffix == ".json" or path.name == "cdk.out"):
            _restamp(path, revision)
    return directory


def _restamp(path: Path, revision: int) -> None:
    text = path.read_text(encoding="utf-8")
    document = json.loads(text)
    if not (isinstance(document, dict) and document.get("version") == f"{revision}.0.0"):
        return
    # The top-level "version" is the first key CDK writes: replace that one occurrence, keep the layout.
    new_text = _VERSION.sub(lambda m: f'{m.group(1)}"{READER_REVISION}.0.0"', text, count=1)
    assert json.loads(new_text) == {**document, "version": f"{READER_REVISION}.0.0"}, path
    path.write_text(new_text, encoding="utf-8")
