"""The templates' environment: one plain dict of globals per template, which a render copies cheaply."""

from __future__ import annotations

from starlette.templating import Jinja2Templates

from chatroom.web.templating import template_environment


def test_a_template_sees_every_global_set_before_it_loads_in_one_plain_dict() -> None:
    env = template_environment()
    Jinja2Templates(env=env)  # adds `url_for`, as the app does before any template loads
    template = env.from_string("{{ reaction_set | length > 0 }} {{ url_for is defined }} {{ own }}", {"own": "mine"})
    assert type(template.globals) is dict, "a ChainMap is walked in full at every render"
    assert template.render() == "True True mine"
    assert "own" not in env.globals, "a template's own globals stay its own"
