"""The agent desktop page (/agent) driven in a real browser: sign in with a token, press a state
button, wait for the caller's customer record to pop up, submit the wrap-up form.

Shared by the page test over a live runtime (tests/integration/test_agent_desktop_browser.py) and by
end-to-end tests with a real Asterisk: ``tests/`` is on pytest's pythonpath, so both import
``agent_page``. The browser is anything with ``goto``, ``evaluate`` and ``until`` like
``headless_chromium.Chromium`` (from tests/e2e: ``from integration.headless_chromium import Chromium``).
Every wait fails with an AssertionError naming what did not show up; none of them skips.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

ACTIONS = ("login", "ready", "pause", "resume", "logout")

# What the page shows, read from the DOM (not from the page's own variables): what a person sees.
READ = """(() => {
  const text = (id) => document.getElementById(id).textContent;
  const shown = (id) => !document.getElementById(id).hidden;
  const rows = [...document.querySelectorAll("#history tbody tr")]
    .filter((tr) => tr.children.length > 1)
    .map((tr) => [...tr.children].map((td) => td.textContent));
  return {
    signedIn: shown("desk"),
    feed: document.getElementById("feed").dataset.state,
    message: shown("message") ? text("message") : "",
    messageKind: document.getElementById("message").dataset.kind || "",
    state: document.getElementById("state").dataset.state,
    stateText: text("state"),
    call: shown("call") ? {
      id: document.getElementById("call").dataset.call,
      ringing: document.getElementById("call").dataset.ringing === "true",
      caller: text("call-caller"), queue: text("call-queue"), priority: text("call-priority"),
      wait: text("call-wait"),
    } : null,
    customer: shown("call") && !document.getElementById("customer-card").hidden ? {
      id: document.getElementById("customer").dataset.customer,
      name: text("customer-name"), tier: text("customer-tier"), number: text("customer-number"),
      history: rows,
    } : null,
    wrapup: shown("wrapup"),
    loadedAt: window.agentDesk.loadedAt,
    streams: window.agentDesk.streams,
    frames: window.agentDesk.frames,
  };
})()"""


class Page(Protocol):
    async def goto(self, url: str) -> None: ...

    async def evaluate(self, expression: str) -> Any: ...

    async def until(self, expression: str, seconds: float = 15.0) -> Any: ...


async def read_desk(page: Page) -> dict[str, Any]:
    """What the page shows now (state, call, customer card, message)."""
    shown: dict[str, Any] = await page.evaluate(READ)
    return shown


async def open_desk(page: Page, base_url: str) -> None:
    """Open ``{base_url}/agent`` and wait for its script to be running."""
    await page.goto(f"{base_url.rstrip('/')}/agent")
    await page.until("window.agentDesk !== undefined && document.readyState === 'complete'")


async def _clear_message(page: Page) -> None:
    await page.evaluate(
        "(() => { const m = document.getElementById('message'); m.hidden = true; "
        "m.textContent = ''; m.dataset.kind = ''; })()"
    )


async def _message(page: Page, seconds: float) -> dict[str, Any]:
    await page.until("document.getElementById('message').textContent !== ''", seconds)
    return await read_desk(page)


async def try_sign_in(page: Page, token: str, agent: str = "", seconds: float = 15.0) -> dict[str, Any]:
    """Fill the sign-in form and send it; what the page shows after (signed in, or the error message)."""
    await _clear_message(page)
    await page.evaluate(f"""(() => {{
      document.getElementById("token").value = {json.dumps(token)};
      document.getElementById("agent").value = {json.dumps(agent)};
      document.getElementById("sign-in").requestSubmit();
    }})()""")
    await page.until(
        "!document.getElementById('desk').hidden || document.getElementById('message').textContent !== ''", seconds
    )
    return await read_desk(page)


async def sign_in(page: Page, base_url: str, token: str, agent: str = "", seconds: float = 15.0) -> dict[str, Any]:
    """Open the page, sign in with the token (``agent`` may stay empty for an agent's own token) and
    wait until the first desk arrived over the stream; what the page shows then."""
    await open_desk(page, base_url)
    shown = await try_sign_in(page, token, agent, seconds)
    assert shown["signedIn"], f"sign-in refused: {shown['message']}"
    await page.until("window.agentDesk.frames > 0 && document.getElementById('feed').dataset.state === 'live'", seconds)
    return await read_desk(page)


async def wait_for_state(page: Page, state: str, seconds: float = 15.0) -> dict[str, Any]:
    """Wait until the page shows the agent in ``state`` (``ready``, ``reserved``, ``on_call``, ``wrap_up``…)."""
    await page.until(f"document.getElementById('state').dataset.state === {json.dumps(state)}", seconds)
    return await read_desk(page)


async def press(page: Page, action: str, reason: str = "", seconds: float = 10.0) -> dict[str, Any]:
    """Press a state button (login, ready, pause with ``reason``, resume, logout) once it is enabled;
    what the page shows once the ACD answered (``message``: the new state, or the API's refusal)."""
    assert action in ACTIONS, action
    button = f"document.querySelector('#actions button[data-action={json.dumps(action)}]')"
    await page.until(f"!{button}.disabled", seconds)
    await _clear_message(page)
    if reason:
        await page.evaluate(f"""(() => {{
          const select = document.getElementById("pause-reason");
          if (![...select.options].some((o) => o.value === {json.dumps(reason)})) select.add(new Option({json.dumps(reason)}));
          select.value = {json.dumps(reason)};
        }})()""")
    await page.evaluate(f"{button}.click()")
    return await _message(page, seconds)


async def wait_for_customer(page: Page, name: str | None = None, seconds: float = 30.0) -> dict[str, Any]:
    """Wait until a call's customer record pops up (the one named ``name``, if given); what the page shows."""
    card = "!document.getElementById('call').hidden && !document.getElementById('customer-card').hidden"
    if name is not None:
        card += f" && document.getElementById('customer-name').textContent === {json.dumps(name)}"
    await page.until(card, seconds)
    return await read_desk(page)


async def fill_wrapup(page: Page, code: str, notes: str, seconds: float = 15.0) -> None:
    """Wait for the wrap-up form (on call or in wrap-up) and fill it in, without sending it: ``code`` is
    picked from the queue's catalogue the desk shows."""
    await page.until("!document.getElementById('wrapup').hidden", seconds)
    picked = await page.evaluate(f"""(() => {{
      document.getElementById("wrapup-code").value = {json.dumps(code)};
      document.getElementById("wrapup-notes").value = {json.dumps(notes)};
      return document.getElementById("wrapup-code").value;
    }})()""")
    assert picked == code, f"the disposition picker offers no {code!r}"  # a select takes only its own codes


async def submit_wrapup(page: Page, code: str, notes: str, seconds: float = 15.0) -> dict[str, Any]:
    """Fill in the wrap-up form and send it; in wrap-up this also ends wrap-up (the agent is ready).
    What the page shows once the ACD answered; fails on a refusal, quoting the API's message."""
    await fill_wrapup(page, code, notes, seconds)
    await _clear_message(page)
    await page.evaluate("document.getElementById('wrapup').requestSubmit()")
    shown = await _message(page, seconds)
    assert shown["messageKind"] != "error", f"wrap-up refused: {shown['message']}"
    return shown


async def save_customer(page: Page, fields: dict[str, Any], seconds: float = 15.0) -> dict[str, Any]:
    """Press "New customer" / "Edit customer", fill in the form's ``fields`` (by input id without its
    ``cf-`` prefix; booleans tick boxes) and save it. Returns what the form held before it was filled
    (``before``) and what the page shows once the ACD answered; fails on a refusal."""
    await page.until("!document.getElementById('customer-edit').hidden", seconds)
    await _clear_message(page)
    await page.evaluate("document.getElementById('customer-edit').click()")
    await page.until("!document.getElementById('customer-form').hidden", seconds)
    before = await page.evaluate("""(() => ({
      title: document.getElementById("customer-form-title").textContent,
      number: document.getElementById("cf-number").value,
      name: document.getElementById("cf-name").value,
    }))()""")
    await page.evaluate(f"""(() => {{
      for (const [id, value] of Object.entries({json.dumps(fields)})) {{
        const input = document.getElementById("cf-" + id);
        if (typeof value === "boolean") input.checked = value; else input.value = value;
      }}
      document.getElementById("customer-form").requestSubmit();
    }})()""")
    shown = await _message(page, seconds)
    assert shown["messageKind"] != "error", f"customer refused: {shown['message']}"
    return {"before": before, **shown}


async def transfer(
    page: Page, *, queue: str = "", number: str = "", agent: str = "", kind: str = "blind", seconds: float = 15.0
) -> dict[str, Any]:
    """Transfer the call in conversation from the desk's form: ``kind`` blind (to one of a queue, an
    agent or a number) or attended (to the same: a consult, finished with ``finish_consult``); what
    the page shows once the ACD answered (a refusal too: its message says so)."""
    targets = {"queue": queue, "agent": agent, "number": number}
    to = [name for name, value in targets.items() if value]
    assert len(to) == 1, "give one of queue, agent and number"
    await page.until("!document.getElementById('transfer').hidden", seconds)
    await _clear_message(page)
    await page.evaluate(f"""(() => {{
      const kind = document.getElementById("transfer-kind");
      kind.value = {json.dumps(kind)};
      kind.dispatchEvent(new Event("change"));
      const to = document.getElementById("transfer-to");
      to.value = {json.dumps(to[0])};
      to.dispatchEvent(new Event("change"));
      document.getElementById("transfer-" + {json.dumps(to[0])}).value = {json.dumps(targets[to[0]])};
      document.getElementById("transfer").requestSubmit();
    }})()""")
    return await _message(page, seconds)


async def finish_consult(page: Page, action: str, seconds: float = 15.0) -> dict[str, Any]:
    """Press "Complete" (``complete``) or "Back to caller" (``back``) of the open consult; what the page
    shows once the ACD answered."""
    button = {"complete": "consult-complete", "back": "consult-back"}[action]
    await page.until("!document.getElementById('consult').hidden", seconds)
    await _clear_message(page)
    await page.evaluate(f"document.getElementById({json.dumps(button)}).click()")
    return await _message(page, seconds)


# The scheduled callbacks the desk lists: one row each, [when, queue, number, customer, note, status].
CALLBACK_ROWS = """[...document.querySelectorAll("#callback-list tbody tr[data-callback]")].map((tr) => ({
  id: tr.dataset.callback, status: tr.dataset.status,
  cells: [...tr.children].slice(0, 6).map((td) => td.textContent),
  cancel: tr.querySelector("button.cancel") !== null,
}))"""


async def callback_rows(page: Page) -> list[dict[str, Any]]:
    """The scheduled callbacks the desk lists now."""
    rows: list[dict[str, Any]] = await page.evaluate(CALLBACK_ROWS)
    return rows


async def schedule_callback(page: Page, fields: dict[str, str], seconds: float = 15.0) -> dict[str, Any]:
    """Fill in "Schedule a callback" (``fields`` by input id without its ``cb-`` prefix; ``at`` in the
    form ``datetime-local`` takes, the browser's local time) and send it. Returns what the form held
    before (``before``: queue, number, queues offered) and what the page shows once the ACD answered
    (and, unless refused, once the list was read again)."""
    before = await page.evaluate("""(() => ({
      queue: document.getElementById("cb-queue").value,
      number: document.getElementById("cb-number").value,
      queues: [...document.getElementById("cb-queue").options].map((o) => o.value),
    }))()""")
    await _clear_message(page)
    lists = await page.evaluate("window.agentDesk.callbackLists || 0")
    await page.evaluate(f"""(() => {{
      for (const [id, value] of Object.entries({json.dumps(fields)})) document.getElementById("cb-" + id).value = value;
      document.getElementById("callback-form").requestSubmit();
    }})()""")
    shown = await _message(page, seconds)
    if shown["messageKind"] != "error":
        await page.until(f"(window.agentDesk.callbackLists || 0) > {lists}", seconds)
    return {"before": before, **shown}


async def cancel_callback(page: Page, callback_id: str, seconds: float = 15.0) -> dict[str, Any]:
    """Press the cancel button of the listed callback ``callback_id``; what the page shows once the
    list was read again."""
    lists = await page.evaluate("window.agentDesk.callbackLists || 0")
    await _clear_message(page)
    row = f"document.querySelector('#callback-list tr[data-callback={json.dumps(callback_id)}] button.cancel')"
    await page.until(f"{row} !== null", seconds)
    await page.evaluate(f"{row}.click()")
    await page.until(f"(window.agentDesk.callbackLists || 0) > {lists}", seconds)
    return await read_desk(page)
