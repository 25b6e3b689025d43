"""The routes of the routing config's endpoints (skills, queues, agents' configuration) on /api/v1.

Kept apart from ``build_api_v1`` so that the API's one table of routes grows by a single line.
"""

from __future__ import annotations

from aiohttp import web

from acd.config_changes import ConfigEditor
from acd.http.v1 import agent_config, queues, skills
from acd.http.v1.config_edits import EDITOR


def add_config_routes(api: web.Application, editor: ConfigEditor) -> None:
    api[EDITOR] = editor
    api.router.add_get("/skills", skills.list_skills)
    api.router.add_post("/skills", skills.create_skill)
    api.router.add_get("/skills/{skill}", skills.one_skill)
    api.router.add_put("/skills/{skill}", skills.rename_skill)
    api.router.add_delete("/skills/{skill}", skills.delete_skill)
    api.router.add_get("/queues", queues.list_queues)
    api.router.add_post("/queues", queues.create_queue)
    api.router.add_get("/queues/{queue}", queues.one_queue)
    api.router.add_put("/queues/{queue}", queues.replace_queue)
    api.router.add_patch("/queues/{queue}", queues.update_queue)
    api.router.add_delete("/queues/{queue}", queues.delete_queue)
    api.router.add_post("/agents", agent_config.create_agent)
    api.router.add_put("/agents/{agent}", agent_config.replace_agent)
    api.router.add_patch("/agents/{agent}", agent_config.update_agent)
    api.router.add_delete("/agents/{agent}", agent_config.delete_agent)
