"""A real Vietnamese input method as a second witness for the wedge-scan repair: BoGo (the engine of
ibus-bogo, PyPI ``bogo`` 1.1), fed the scanner's keystrokes the way the input method would receive them.

tests/qr/ime_model.py is the project's own model of Unikey/EVKey; a repair tested only against the model
that was written alongside it can share its mistakes. BoGo was written by others, for real desktops, and
composes some sequences differently (it leaves words it judges non-Vietnamese alone, as Unikey's spelling
check does, when ``skip_non_vietnamese`` is on).

BoGo is GPL-3 and this project is not, so it runs as its own process and is talked to over a pipe (as
pcscd's vpcd driver is): nothing of it is imported into the test process, nothing of it is shipped, and it
is a test dependency only (pyproject.toml, the ``test`` extra).
"""

from __future__ import annotations

import json
import subprocess
import sys

TELEX = "telex"
VNI = "vni"

# Runs in the child: one JSON request on stdin, one JSON list of composed texts on stdout. BoGo 1.1's VNI
# rules lack the "w" entry its Telex check looks up (a KeyError on some sequences); an empty entry is what
# its own code means by "not Telex".
_CHILD = """
import json, sys
import bogo
request = json.load(sys.stdin)
rules = bogo.get_telex_definition() if request["mode"] == "telex" else {**bogo.get_vni_definition(), "w": []}
print(json.dumps([bogo.process_sequence(text, rules=rules, skip_non_vietnamese=request["skip"])
                  for text in request["texts"]]))
"""


def compose_all(texts: list[str], mode: str, *, skip_non_vietnamese: bool) -> list[str]:
    """What an application receives when a scanner types each of ``texts`` through BoGo in ``mode``."""
    request = json.dumps({"texts": texts, "mode": mode, "skip": skip_non_vietnamese})
    done = subprocess.run([sys.executable, "-c", _CHILD], input=request, capture_output=True, text=True,
                          timeout=60, check=True)
    composed = json.loads(done.stdout)
    assert isinstance(composed, list) and len(composed) == len(texts)
    return [str(text) for text in composed]
