"""One certification per registered (library, model_type, exporter-engine, task)."""

import pytest

from conformance.certify import certify


def test_certify(case, certify_options, certificate):
    record = certify(case, **certify_options)
    certificate(record)
    status = record["status"]
    if status == "xfail":
        pytest.xfail(record["reason"])
    if status == "skipped":
        pytest.skip(record["reason"])
    if status != "certified":
        pytest.fail(f"{status} at stage {record['stage']}: {record['reason']}\n"
                    f"{record['error'] or ''}\nreproduce: {record['reproduce']}", pytrace=False)
