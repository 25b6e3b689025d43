"""The skill catalogue through /api/v1: list, create, rename and delete skills.

Skills are shared by every queue and agent, so changing the catalogue is for admins; supervisors and
admins read it (an agent's token sees its own agent's skills instead): the route table's roles. Each
skill is shown with the queues and agents that use it. Renaming (``PUT`` with a new ``name``) renames it
everywhere it is used, in one revision. A skill still in use cannot be deleted: 409 ``conflict`` names
its users.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from acd.config_changes import Applied
from acd.http import errors
from acd.http.keys import EDITOR
from acd.http.v1.config_edits import apply, conflict, not_found, read
from acd.http.v1.input import Fields, json_object
from acd.routing_document import Document, skill_users

_BODY = frozenset({"name"})


def skill_json(document: Document, skill: str) -> dict[str, Any]:
    return {"name": skill, **skill_users(document, skill)}


async def _name(request: web.Request) -> str | web.Response:
    body = await json_object(request, _BODY)
    if isinstance(body, web.Response):
        return body
    fields = Fields(body)
    name = fields.string("name", "required: the skill's name, a string")
    bad = fields.refusal()
    return name if bad is None else bad


async def list_skills(request: web.Request) -> web.Response:
    document = request.app[EDITOR].document
    return read(request, {"skills": [skill_json(document, s) for s in document["skills"]]})


async def one_skill(request: web.Request) -> web.Response:
    skill = request.match_info["skill"]
    document = request.app[EDITOR].document
    if skill not in document["skills"]:
        return errors.error(404, "no-such-skill", f"no skill {skill!r} is configured", {"id": skill})
    return read(request, {"skill": skill_json(document, skill)})


async def create_skill(request: web.Request) -> web.Response:
    name = await _name(request)
    if isinstance(name, web.Response):
        return name

    def edit(document: Document) -> None:
        if name in document["skills"]:
            raise conflict(f"skill {name!r} already exists", {"id": name})
        document["skills"] = sorted([*document["skills"], name])

    def answer(applied: Applied) -> dict[str, Any]:
        return {"skill": skill_json(applied.document, name)}

    return await apply(request, edit, "skill.create", name, {"name": name}, answer, status=201)


async def rename_skill(request: web.Request) -> web.Response:
    """``PUT /skills/{skill}`` ``{"name": "new"}``: the same name is a no-op; another renames everywhere."""
    old = request.match_info["skill"]
    new = await _name(request)
    if isinstance(new, web.Response):
        return new

    def edit(document: Document) -> None:
        if old not in document["skills"]:
            raise not_found("skill", old)
        if new == old:
            return
        if new in document["skills"]:
            raise conflict(f"skill {new!r} already exists", {"id": new})
        document["skills"] = sorted([s for s in document["skills"] if s != old] + [new])
        for queue in document["queues"].values():
            _rename(queue.get("skills"), old, new)
            for step in queue.get("widening", []):
                _rename(step.get("extra_skills"), old, new)
        for agent in document["agents"].values():
            _rename(agent.get("skills"), old, new)

    def answer(applied: Applied) -> dict[str, Any]:
        return {"skill": skill_json(applied.document, new)}

    return await apply(request, edit, "skill.update", old, {"name": new}, answer)


def _rename(levels: Any, old: str, new: str) -> None:
    if isinstance(levels, dict) and old in levels:
        levels[new] = levels.pop(old)


async def delete_skill(request: web.Request) -> web.Response:
    skill = request.match_info["skill"]

    def edit(document: Document) -> None:
        if skill not in document["skills"]:
            raise not_found("skill", skill)
        users = skill_users(document, skill)
        if users["queues"] or users["agents"]:
            raise conflict(f"skill {skill!r} is still used; change its queues and agents first", users)
        document["skills"] = [s for s in document["skills"] if s != skill]

    return await apply(request, edit, "skill.delete", skill, {}, lambda _: {"deleted": skill})
