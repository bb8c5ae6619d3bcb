"""The pages' Jinja2 environment: `a.b` on a dict is its key, as Jinja2 says."""

from __future__ import annotations

from collections import OrderedDict

from jinja2 import Environment

from app.core.templates import environment


def _both(source: str, **context: object) -> tuple[str, str]:
    plain = Environment(autoescape=True)
    return environment.from_string(source).render(**context), plain.from_string(source).render(
        **context
    )


def test_a_dict_key_is_looked_up_as_jinja2_does() -> None:
    doc = {"name": "<壶>", "count": 3, "items": "not the method", "missing_is": None}
    source = "{{ d.name }}|{{ d.count }}|{{ d.items is callable }}|{{ d.nothing is undefined }}"
    ours, jinja = _both(source, d=doc)
    assert ours == jinja == "&lt;壶&gt;|3|True|True"  # a dict method still wins, as in Jinja2


def test_other_mappings_and_objects_are_unchanged() -> None:
    class Thing:
        name = "thing"

    source = "{{ o.name }}|{{ t.name }}"
    ours, jinja = _both(source, o=OrderedDict(name="ordered"), t=Thing())
    assert ours == jinja == "ordered|thing"
