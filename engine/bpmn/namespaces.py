"""XML namespaces of BPMN, the SpiffWorkflow extensions and DMN, and the one safe way to
parse a diagram or table: entity resolution, network access and DTD loading off, no huge
trees (diagrams are untrusted; lxml resolves external entities by default)."""
from __future__ import annotations

from lxml import etree
from SpiffWorkflow.dmn.parser.BpmnDmnParser import SCHEMAS as _DMN_SCHEMAS

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}
DMN_NAMESPACES = tuple(_DMN_SCHEMAS)  # DMN 1.1 to 1.3, as SpiffWorkflow reads them


def bpmn(tag: str) -> str:
    """``tag`` in the BPMN model namespace (``{ns}tag``)."""
    return f"{{{BPMN_NS}}}{tag}"


def spiff(tag: str) -> str:
    """``tag`` in the SpiffWorkflow extension namespace."""
    return f"{{{SPIFF_NS}}}{tag}"


def safe_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                           encoding="utf-8")


def parse_xml(text: str) -> etree._Element:
    """Parse diagram or table text safely; raises ``etree.XMLSyntaxError``."""
    return etree.fromstring(text.encode("utf-8"), safe_parser())


def local_name(tag: object) -> str:
    """The tag without its namespace ('' for comments and processing instructions)."""
    return etree.QName(tag).localname if isinstance(tag, str) else ""
