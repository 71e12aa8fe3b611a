"""The oversight CLI in a process of its own, its model calls replayed from a cassette (never recorded).

    python -m tests.support.cassette_cli CASSETTE.yaml ARGS...
    python -m tests.support.cassette_cli CASSETTE.yaml --script FILE.py

For tests that kill a process half way: the process is the CLI itself, with the same
request matching as the tests' cassettes; a request the cassette lacks fails it loudly.
"""

from __future__ import annotations

import runpy
import sys

import vcr

from tests.support.cassettes import MATCH_ON, SECRET_HEADERS, llm_body_matcher


def main(argv: list[str]) -> None:
    from oversight.cli import main as cli

    replay = vcr.VCR(record_mode="none", match_on=MATCH_ON, filter_headers=[(h, None) for h in SECRET_HEADERS],
                     decode_compressed_response=True)
    replay.register_matcher("llm_body", llm_body_matcher)
    with replay.use_cassette(argv[0]):
        if argv[1:2] == ["--script"]:
            runpy.run_path(argv[2], run_name="__main__")
        else:
            cli(argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
