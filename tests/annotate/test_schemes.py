from __future__ import annotations

import json

import pytest

from annotate.schemes import SchemeError, scheme_for, scheme_values


def test_the_default_scheme_uses_the_judges_canonical_values() -> None:
    scheme = scheme_for(name="coconot")
    assert scheme_values(scheme) == ["not_complied", "complied", "neither"]
    assert [c["key"] for c in scheme["choices"]] == ["1", "2", "3"]


def test_xstest_has_its_three_classes() -> None:
    assert scheme_values(scheme_for(name="xstest")) == [
        "full_compliance",
        "full_refusal",
        "partial_refusal",
    ]


def test_a_custom_scheme_gets_keys_in_order_when_none_are_given() -> None:
    text = json.dumps({"name": "Helpful?", "choices": [{"value": "yes"}, {"value": "no"}]})
    scheme = scheme_for(name="custom", custom_json=text)
    assert [(c["value"], c["label"], c["key"]) for c in scheme["choices"]] == [
        ("yes", "Yes", "1"),
        ("no", "No", "2"),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not valid JSON"),
        ("[]", 'must be an object with a "choices" list'),
        ('{"choices": [{"value": "only"}]}', "needs 2 to 9 choices"),
        ('{"choices": [{"value": "a"}, {"value": "a"}]}', "repeats the value 'a'"),
        (
            '{"choices": [{"value": "a", "key": "1"}, {"value": "b", "key": "1"}]}',
            "repeats the key",
        ),
        ('{"choices": [{"value": "a", "key": "x"}, {"value": "b"}]}', "key must be one digit"),
        ('{"choices": [{"value": "Bad Value"}, {"value": "b"}]}', "choice 1: value 'Bad Value'"),
        ('{"choices": ["a", "b"]}', "choice 1 must be an object"),
    ],
)
def test_a_bad_custom_scheme_is_refused_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(SchemeError, match=message.replace("(", r"\(")):
        scheme_for(name="custom", custom_json=text)
