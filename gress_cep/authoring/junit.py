"""JUnit XML for `gress test --junit PATH`: one <testsuite> per test file, one <testcase> per
case, a <failure> with the text the terminal shows — the format CI systems (GitHub Actions
reporters, GitLab, Jenkins) read."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path


@dataclass(slots=True)
class CaseReport:
    name: str
    seconds: float
    message: str = ""  # one line: what went wrong
    failure: str | None = None  # what did not match (the terminal's text)
    error: str | None = None  # the case could not run


@dataclass(slots=True)
class SuiteReport:
    name: str  # the test file
    classname: str  # its stem, for reporters that group by class
    cases: list[CaseReport]
    error: str | None = None  # the test file itself is wrong: none of its cases ran


def write_junit(path: Path, suites: list[SuiteReport]) -> None:
    root = ET.Element("testsuites")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    seconds = 0.0
    for suite in suites:
        counts = {
            "tests": len(suite.cases) + (suite.error is not None),
            "failures": sum(c.failure is not None for c in suite.cases),
            "errors": sum(c.error is not None for c in suite.cases) + (suite.error is not None),
        }
        took = sum(c.seconds for c in suite.cases)
        attributes = {"name": suite.name, "time": f"{took:.3f}"}
        attributes.update((key, str(value)) for key, value in counts.items())
        element = ET.SubElement(root, "testsuite", attributes)
        cases = list(suite.cases)
        if suite.error is not None:  # a test file that cannot be read is one erroring test
            first = suite.error.splitlines()[0] if suite.error else "the test file has mistakes"
            cases.insert(0, CaseReport("(test file)", 0.0, first, error=suite.error))
        for case in cases:
            testcase = ET.SubElement(
                element,
                "testcase",
                name=case.name,
                classname=suite.classname,
                time=f"{case.seconds:.3f}",
            )
            for tag, text in (("failure", case.failure), ("error", case.error)):
                if text is not None:
                    ET.SubElement(testcase, tag, message=case.message or tag).text = text
        for key in totals:
            totals[key] += counts[key]
        seconds += took
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{seconds:.3f}")
    ET.indent(root)
    path.write_bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n")
